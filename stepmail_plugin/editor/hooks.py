"""After an editor saves a step: show the publishing warnings (they never block saving)."""

from __future__ import annotations

import logging

from django.contrib import messages

from ..models import StepEmailPage
from .validation import step_warnings

logger = logging.getLogger(__name__)


def warn_after_save(request, page) -> None:
    """``after_create_page`` / ``after_edit_page``: warnings for a step email as Wagtail messages."""
    specific = page.specific if not isinstance(page, StepEmailPage) else page
    if not isinstance(specific, StepEmailPage):
        return
    try:
        step = specific.get_latest_revision_as_object() if specific.pk else specific
        for warning in step_warnings(step, request.user):
            messages.warning(request, warning)
    except Exception:  # a warning must never make saving fail
        logger.exception("stepmail: warnings for step %s could not be computed", page.pk)
