"""Copying a sequence: the sequence page and all its steps, as drafts, through Wagtail's own
copy action (``CopyPageAction``), so revisions, A/B variants (child objects) and the rules
(parental many-to-many fields) come along as Wagtail copies them.

Nothing about customers is copied: enrollments, deliveries, conversions, A/B decisions and
per-sequence suppressions point at the original by ordinary foreign keys, which Wagtail's copy
leaves behind. The copy is never live, so it enrolls nobody until an editor publishes it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext
from wagtail.actions.copy_page import CopyPageAction
from wagtail.models import Page

from ..models import SequencePage
from .blueprints import _unique_slug


def copy_title(sequence: SequencePage) -> str:
    """The title proposed for a copy: 「…（コピー）」 / "… (copy)", or 「…（コピー 2）」 … when a
    page beside it has that title already (a sequence copied again)."""
    title = sequence.get_admin_display_title()
    parent = sequence.get_parent()
    taken = set(Page.objects.child_of(parent).values_list("title", flat=True)) if parent is not None else set()
    proposal = gettext("%(title)s (copy)") % {"title": title}
    number = 2
    while proposal in taken:
        proposal = gettext("%(title)s (copy %(number)s)") % {"title": title, "number": number}
        number += 1
    return proposal


def copy_parents(sequence: SequencePage, user: Any) -> list[Page]:
    """Where ``user`` may put a copy of ``sequence``: its own parent and every step-mail folder
    (or other allowed parent) in which they may add pages."""
    from ..models import SequenceIndexPage

    candidates = [sequence.get_parent(), *SequenceIndexPage.objects.order_by("path")]
    seen: set[int] = set()
    parents = []
    for page in candidates:
        if page is None or page.pk in seen:
            continue
        seen.add(page.pk)
        if sequence.permissions_for_user(user).can_copy_to(page, recursive=True):
            parents.append(page)
    return parents


def copy_sequence(
    sequence: SequencePage, parent: Page, *, title: str, slug: str = "", user: Any = None
) -> SequencePage:
    """Copy ``sequence`` and its steps under ``parent`` as unpublished drafts.

    With ``user``, Wagtail checks that they may copy the page there (add permission on
    ``parent``) and raises ``CopyPagePermissionError`` otherwise; the copy is theirs and logged
    in its history.
    """
    action = CopyPageAction(
        page=sequence,
        to=parent,
        recursive=True,
        keep_live=False,
        user=user,
        update_attrs={"title": title, "slug": slug or _unique_slug(parent, title)},
    )
    with transaction.atomic():
        copy = action.execute()
    return SequencePage.objects.get(pk=copy.pk)
