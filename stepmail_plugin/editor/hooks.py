"""After an editor saves a step: show the publishing warnings (they never block saving)."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

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


def publishing_errors(step: StepEmailPage) -> list[str]:
    """What keeps the latest revision of ``step`` from being published ([] if nothing)."""
    draft = step.get_latest_revision_as_object()
    draft.live = True  # the checks publishing runs (drafts may lack what only publishing needs)
    try:
        draft.clean()
    except ValidationError as error:
        return [str(m) for messages_ in error.message_dict.values() for m in messages_] \
            if hasattr(error, "message_dict") else list(error.messages)
    return []


def refuse_invalid_steps_in_bulk_publish(request, action_type, objects, action):
    """``before_bulk_action``: Wagtail's bulk "Publish" (with "Include descendants") publishes
    revisions without the page form's checks, so a step that fails them would stop the request
    with a server error. Refuse instead, naming each step and what to correct."""
    if action_type != "publish":
        return None
    form = getattr(action, "cleaned_form", None)
    with_descendants = bool(form and form.cleaned_data.get("include_descendants"))
    steps = []
    for page in objects:
        specific = page.specific
        if isinstance(specific, StepEmailPage):
            steps.append(specific)
        if with_descendants:
            steps += list(StepEmailPage.objects.descendant_of(page).not_live())
    refused = False
    for step in steps:
        errors = publishing_errors(step)
        if errors:
            refused = True
            messages.error(
                request,
                _("“%(title)s” cannot be published: %(errors)s Open the step, correct it and publish again.")
                % {"title": step.title, "errors": " ".join(errors)},
            )
    if not refused:
        return None
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "wagtailadmin_home"
    return redirect(target)
