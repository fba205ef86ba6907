"""Form submissions: a Wagtail form page (``wagtail.contrib.forms``) chosen on a sequence.

When someone submits that form (a 資料請求 / document request, a webinar sign-up), the address in
the sequence's email field (default: the form's first Email field) enters the sequence, once per
submission. A ticked consent field (named on the sequence) is recorded as the contact's consent
with source ``form:<page id>``; marketing sequences need it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save

from ..enrollment import Person, enroll_safely
from ..models import SequencePage
from .registry import FORM_SUBMITTED

logger = logging.getLogger(__name__)

TRUTHY = {"on", "true", "1", "yes", "y", "checked"}


def receive_form_submission(sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any) -> None:
    """post_save of any form submission model; the enrollment runs after the commit."""
    if not created or raw or not isinstance(instance, _submission_base()):
        return
    try:
        pk, model = instance.pk, type(instance)
        transaction.on_commit(lambda: enroll_submission(model, pk))
    except Exception:  # pragma: no cover - defensive
        logger.exception("stepmail: could not queue form submission %s", getattr(instance, "pk", None))


def _is_true(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_is_true(v) for v in value)
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUTHY


def _email_field(page: Any, sequence: SequencePage) -> str:
    if sequence.form_email_field:
        return sequence.form_email_field
    for field in page.get_form_fields():
        if field.field_type == "email":
            return field.clean_name
    return "email"


def enroll_submission(model: type, pk: int) -> None:
    submission = model._default_manager.filter(pk=pk).select_related("page").first()
    if submission is None:
        return
    sequences = list(
        SequencePage.objects.live().filter(trigger=FORM_SUBMITTED.key, form_page_id=submission.page_id)
    )
    if not sequences:
        return
    page = submission.page.specific
    data = submission.form_data or {}
    # Sequences on the same form may name different fields: group them.
    groups: dict[tuple[str, str], list[int]] = {}
    for sequence in sequences:
        groups.setdefault((_email_field(page, sequence), sequence.form_consent_field), []).append(sequence.pk)
    for (email_field, consent_field), sequence_ids in groups.items():
        email = str(data.get(email_field) or "").strip()
        if not email:
            logger.info("stepmail: form submission %s has no address in %r", pk, email_field)
            continue
        consent = f"form:{submission.page_id}" if consent_field and _is_true(data.get(consent_field)) else ""
        person = Person(
            email=email,
            first_name=str(data.get("first_name") or data.get("name") or "")[:150],
            last_name=str(data.get("last_name") or "")[:150],
        )
        enroll_safely(
            person,
            FORM_SUBMITTED.key,
            obj=submission,
            at=submission.submit_time,
            consent_source=consent,
            match={"sequence_ids": sequence_ids},
        )


def _submission_base() -> type:
    from wagtail.contrib.forms.models import AbstractFormSubmission

    return AbstractFormSubmission


def connect() -> None:
    from django.apps import apps

    if not apps.is_installed("wagtail.contrib.forms"):
        return
    # Any submission model (sites may use their own subclass): filtered in the receiver.
    post_save.connect(receive_form_submission, dispatch_uid="stepmail.form_submission")
