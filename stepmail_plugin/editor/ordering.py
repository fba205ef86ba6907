"""Steps stay in time order when an editor reorders or moves them in the page explorer.

The step form refuses a delay shorter than an earlier step's (``StepEmailPageForm``), but the
explorer's drag-and-drop ("set position") and "Move" change the tree order without any form. A
reorder that would put a later mail before an earlier one is refused here, with the same rule
and a translated message: by a page viewset for steps whose set-position view checks first, and
by the ``before_move_page`` hook for moving a step into another sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.html import format_html
from django.utils.translation import gettext as _
from wagtail.admin.staticfiles import versioned_static
from wagtail.admin.views.pages.ordering import SetPagePositionView
from wagtail.admin.viewsets.pages import PageViewSet
from wagtail.models import Page

from ..models import StepEmailPage


def order_error(steps: Sequence[StepEmailPage]) -> str:
    """Why ``steps``, in this order, break the rule that delays may not decrease ("" if they do
    not). Refill steps count back from the end of the supply, a different clock: not compared."""
    latest: StepEmailPage | None = None
    for step in steps:
        if step.counts_from_supply:
            continue
        if latest is not None and step.delay < latest.delay:
            return _(
                "Steps run in order: “%(later)s” (%(later_delay)s) cannot come after “%(earlier)s” "
                "(%(earlier_delay)s). Change the delays first, or put the steps in the order they are sent."
            ) % {
                "later": step.title,
                "later_delay": step.delay_display,
                "earlier": latest.title,
                "earlier_delay": latest.delay_display,
            }
        latest = step
    return ""


def _siblings(parent: Page) -> list[Any]:
    """The children of ``parent`` in tree order, steps as ``StepEmailPage`` (other pages as they
    are: a sequence only takes steps, but the rule must not fail on anything else)."""
    children = list(parent.get_children().order_by("path"))
    steps = {s.pk: s for s in StepEmailPage.objects.child_of(parent)}
    return [steps.get(child.pk, child) for child in children]


def _only_steps(pages: list[Any]) -> list[StepEmailPage]:
    return [p for p in pages if isinstance(p, StepEmailPage)]


class StepPositionView(SetPagePositionView):
    """Wagtail's drag-and-drop reorder, refusing an order in which a step's delay decreases.

    The explorer's script shows nothing when the answer is an error; the message is also kept
    for the next page, and ``step-order.js`` reloads the listing so that it shows the message
    and the order that was kept."""

    def post(self, request, page_to_move_id, *args, **kwargs):
        page = get_object_or_404(Page, id=page_to_move_id)
        parent = page.get_parent()
        if parent.permissions_for_user(request.user).can_reorder_children():
            error = order_error(_only_steps(_reordered(parent, page, request.GET.get("position"))))
            if error:
                messages.error(request, error)
                return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
        return super().post(request, page_to_move_id, *args, **kwargs)


def _reordered(parent: Page, page: Page, position: str | None) -> list[Any]:
    """The children of ``parent`` as Wagtail's set-position view would leave them."""
    children = _siblings(parent)
    moving = next(child for child in children if child.pk == page.pk)
    rest = [child for child in children if child.pk != page.pk]
    try:
        index = int(position) if position is not None else len(children)
    except ValueError:
        index = len(children)
    index = max(0, min(index, len(rest)))
    return rest[:index] + [moving] + rest[index:]


class StepPageViewSet(PageViewSet):
    """Views of step pages that differ from Wagtail's: only the set-position view."""

    model = StepEmailPage
    set_page_position_view_class = StepPositionView

    @property
    def parent_models(self) -> list[Any]:
        # Keep Wagtail's own listing of a sequence's children (a viewset registered for the
        # only child type of a parent would otherwise replace it).
        return []


step_page_viewset = StepPageViewSet("stepmail_steps")


def refuse_move_out_of_order(request, page_to_move, destination):
    """``before_move_page``: a step moved into another sequence goes last; refuse it when its
    delay is shorter than that sequence's last step's."""
    specific = page_to_move.specific
    if not isinstance(specific, StepEmailPage) or destination.pk == page_to_move.get_parent().pk:
        return None
    after = _only_steps(_siblings(destination)) + [specific]
    error = order_error(after)
    if not error:
        return None
    messages.error(request, error)
    return redirect("wagtailadmin_explore", destination.pk)


def explorer_js() -> str:
    """``insert_global_admin_js``: reload the explorer when a reorder was refused."""
    return format_html('<script src="{}"></script>', versioned_static("stepmail/step-order.js"))
