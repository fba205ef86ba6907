"""Warnings for editors: things that do not block publishing but hurt the mail.

Errors (unknown merge fields, steps out of order, a button without a link, a coupon without a
template, a missing subject) are form errors and block publishing; see ``models/pages.py`` and
the blocks' ``clean()``. These are only warnings:

* a subject longer than ``STEPMAIL["SUBJECT_WARNING_LENGTH"]`` characters (phones cut it);
* images without alternative text (shown when images are blocked);
* mail HTML over ``STEPMAIL["HTML_WARNING_BYTES"]`` (Gmail clips the message after 102 KB, hiding
  the rest, including the unsubscribe link);
* a marketing sequence while the legal footer (sender, postal address, contact) is incomplete.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import stepmail_settings
from ..rendering import brand as brand_module
from ..rendering.merge import MergeSyntaxError


def content_warnings(step: Any, *, rendered_subject: str | None = None) -> list[str]:
    """Warnings that need no rendering: subject length and alternative texts."""
    warnings = []
    limit = stepmail_settings.SUBJECT_WARNING_LENGTH
    subject = rendered_subject if rendered_subject is not None else (step.subject or "")
    if limit and len(subject) > limit:
        warnings.append(
            _("The subject is %(length)d characters long; phones show about %(limit)d. Put the point first.")
            % {"length": len(subject), "limit": limit}
        )
    for position, child in enumerate(step.body, start=1):
        if child.block_type in ("image", "text_image"):
            value = child.value
            if value.get("image") is not None and not (value.get("alt_text") or "").strip():
                warnings.append(
                    _("Block %(position)d (%(label)s) has no alternative text; mail clients that block "
                      "images show it instead of the picture.")
                    % {"position": position, "label": child.block.label}
                )
    return warnings


def step_warnings(step: Any, user: Any, *, sequence: Any = None) -> list[str]:
    """Every warning for ``step`` (any revision), rendering it with sample data to measure it."""
    from ..rendering.batch import Mode
    from ..rendering.single import render_single
    from .samples import sample_for, sequence_of

    sequence = sequence or sequence_of(step)
    try:
        sample = sample_for(step, user, sequence=sequence)
        single = render_single(step, sample.recipient, mode=Mode.PREVIEW)
    except MergeSyntaxError:
        return content_warnings(step)  # the form shows those errors
    warnings = content_warnings(step, rendered_subject=single.mail.subject)
    warnings += size_warnings(single.html_bytes)
    if getattr(sequence, "is_marketing", False):
        missing = brand_module.missing_legal_details(single.brand)
        if missing:
            warnings.append(
                _("Marketing mail must show the sender's name, postal address and a contact "
                  "(特定電子メール法). Missing: %(fields)s. Fill them in Settings → Step mail settings.")
                % {"fields": ", ".join(str(LEGAL_LABELS.get(f, f)) for f in missing)}
            )
    return warnings


def size_warnings(html_bytes: int) -> list[str]:
    limit = stepmail_settings.HTML_WARNING_BYTES
    if limit and html_bytes > limit:
        return [
            _("The mail is %(size)d KB; Gmail clips messages over %(limit)d KB and hides the rest, "
              "including the unsubscribe link. Remove or shorten blocks.")
            % {"size": html_bytes // 1024, "limit": limit // 1024}
        ]
    return []


LEGAL_LABELS = {
    "sender_name": gettext_lazy("sender's name"),
    "postal_address": gettext_lazy("postal address"),
    "contact": gettext_lazy("contact"),
}
