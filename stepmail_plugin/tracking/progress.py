"""Moving an enrollment on after a delivery was resolved outside the dispatcher."""

from __future__ import annotations

from django.utils import timezone

from ..models import Delivery, Enrollment, EnrollmentStatus, StepEmailPage
from ..scheduling import due_at_for


def advance_enrollment(delivery: Delivery) -> None:
    """Schedule the step after ``delivery``'s, or complete the enrollment, as the dispatcher does
    after a send. Safe to repeat (deliveries are unique per enrollment and step)."""
    enrollment: Enrollment = delivery.enrollment
    if enrollment.status != EnrollmentStatus.ACTIVE:
        return
    sequence_path = delivery.step_path[: -StepEmailPage.steplen]
    following = (
        StepEmailPage.objects.filter(
            path__startswith=sequence_path, depth=len(sequence_path) // StepEmailPage.steplen + 1,
            path__gt=delivery.step_path,
        )
        .order_by("path")
        .only("id", "path", "depth", "delay_value", "delay_unit")
        .first()
    )
    if following is None:
        Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.ACTIVE).update(
            status=EnrollmentStatus.COMPLETED, exit_reason="last_step", ended_at=timezone.now()
        )
        return
    Delivery.objects.bulk_create(
        [Delivery(enrollment=enrollment, step=following, step_path=following.path,
                  due_at=due_at_for(enrollment, following))],
        ignore_conflicts=True,
    )
