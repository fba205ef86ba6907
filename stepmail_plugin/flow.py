"""Service functions for staff actions on one enrollment: pause, resume, cancel, move.

The admin's buttons (``admin/views.py``) call these, and so may your own code; each is one
transaction on the locked enrollment, safe to call twice, and never sends mail itself (the
dispatcher does, on its next tick). Delivery status changes are announced with
``delivery_status_changed`` after commit, as the dispatcher does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from .exits import cancel_queued, end_enrollments
from .models import (
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    SequencePage,
    StepEmailPage,
)
from .scheduling import due_at_for

#: ``Enrollment.exit_reason`` and ``Delivery.reason`` written when staff cancel an enrollment.
CANCELLED_BY_STAFF = "cancelled_by_staff"
#: Enrollment statuses that can still be paused, resumed or cancelled.
RUNNING_STATUSES = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)


def _locked(enrollment: Enrollment | int) -> Enrollment:
    pk = enrollment.pk if isinstance(enrollment, Enrollment) else enrollment
    return Enrollment.objects.select_for_update().select_related("sequence", "contact").get(pk=pk)


def pause_enrollment(enrollment: Enrollment | int, *, at: datetime | None = None) -> Enrollment:
    """Stop sending to this enrollment until it is resumed. Its scheduled mail stays queued."""
    with transaction.atomic():
        enrollment = _locked(enrollment)
        if enrollment.status == EnrollmentStatus.ACTIVE:
            enrollment.status = EnrollmentStatus.PAUSED
            enrollment.paused_at = at or timezone.now()
            enrollment.save(update_fields=["status", "paused_at"])
    return enrollment


def resume_enrollment(enrollment: Enrollment | int, *, at: datetime | None = None) -> Enrollment:
    """Continue a paused enrollment; every remaining step moves later by the length of the pause."""
    now = at or timezone.now()
    with transaction.atomic():
        enrollment = _locked(enrollment)
        if enrollment.status != EnrollmentStatus.PAUSED:
            return enrollment
        shift = max(now - (enrollment.paused_at or now), timedelta(0))
        enrollment.anchor_at += shift
        enrollment.status = EnrollmentStatus.ACTIVE
        enrollment.paused_at = None
        enrollment.save(update_fields=["anchor_at", "status", "paused_at"])
        queued = list(
            Delivery.objects.filter(enrollment=enrollment, status=DeliveryStatus.SCHEDULED).select_related("step")
        )
        for delivery in queued:
            moved = delivery.due_at + shift
            if delivery.step is not None:
                moved = max(moved, due_at_for(enrollment, delivery.step))
            delivery.due_at = moved
        Delivery.objects.bulk_update(queued, ["due_at"])
    return enrollment


def cancel_enrollment(enrollment: Enrollment | int, *, reason: str = CANCELLED_BY_STAFF) -> int | None:
    """End an active or paused enrollment; its queued mail is cancelled.

    Returns how many queued mails were cancelled (0 or more), or None when the enrollment had
    already ended (nothing changed). A delivery a worker has already claimed is left to it: the
    dispatcher sees the enrollment has ended and does not advance it.
    """
    with transaction.atomic():
        enrollment = _locked(enrollment)
        if enrollment.status not in RUNNING_STATUSES:
            return None
        cancelled = cancel_queued(Delivery.objects.filter(enrollment=enrollment), reason)
        end_enrollments(Enrollment.objects.filter(pk=enrollment.pk), reason, status=EnrollmentStatus.CANCELLED)
    return len(cancelled)


def move_enrollment(
    enrollment: Enrollment | int,
    target: SequencePage,
    *,
    keep_anchor: bool = False,
    context: dict[str, Any] | None = None,
) -> Enrollment | None:
    """Move a contact from this enrollment's sequence to ``target``.

    The contact starts ``target`` now (or, with ``keep_anchor``, on the old clock), with the same
    trigger object; the old enrollment is cancelled with reason ``moved``. Consent, opt-outs and
    the target's re-entry rule still apply: when the contact cannot enter ``target`` (it is not
    published, has no steps, or they opted out) nothing changes and None is returned.
    """
    from .enrollment import enroll
    from .triggers.registry import registry

    with transaction.atomic():
        enrollment = _locked(enrollment)
        if enrollment.status not in RUNNING_STATUSES:
            return None
        # A contact who came in through a purchase (an order's sequence) keeps that relationship
        # in the sequence it is moved to, whatever that one's trigger.
        came_from = registry.find(enrollment.trigger)
        created = enroll(
            enrollment.contact,
            target.trigger,
            obj=enrollment.trigger_object,
            at=enrollment.anchor_at if keep_anchor else timezone.now(),
            context=context if context is not None else enrollment.context,
            key=f"moved:{enrollment.pk}",
            match={"sequence_ids": [target.pk], "skip_filters": True},
            purchase_relationship=bool(came_from and came_from.implies_consent),
        )
        if not created:
            return None
        end_enrollments(Enrollment.objects.filter(pk=enrollment.pk), "moved", status=EnrollmentStatus.CANCELLED)
    return created[0]


def skip_past_steps(enrollment: Enrollment, *, now: datetime | None = None, reason: str = "backfill_past") -> int:
    """Record the steps whose moment has already passed as skipped and schedule the first
    future one (used when back-enrolling). Returns how many were skipped."""
    now = now or timezone.now()
    steps = list(StepEmailPage.objects.child_of(enrollment.sequence).order_by("path"))
    skipped = 0
    with transaction.atomic():
        delivery = Delivery.objects.filter(enrollment=enrollment, status=DeliveryStatus.SCHEDULED).first()
        while delivery is not None and delivery.due_at < now:
            delivery.status = DeliveryStatus.SKIPPED
            delivery.reason = reason
            delivery.save(update_fields=["status", "reason", "updated_at"])
            skipped += 1
            nxt = next((s for s in steps if s.path > delivery.step_path), None)
            if nxt is None:
                Enrollment.objects.filter(pk=enrollment.pk).update(
                    status=EnrollmentStatus.COMPLETED, exit_reason="last_step", ended_at=now
                )
                return skipped
            delivery = Delivery.objects.create(
                enrollment=enrollment, step=nxt, step_path=nxt.path, due_at=due_at_for(enrollment, nxt)
            )
    return skipped
