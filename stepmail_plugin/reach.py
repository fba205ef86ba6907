"""How many customers a step reaches: shown to editors before they publish it."""

from __future__ import annotations

from typing import Any

from .models import FINAL_DELIVERY_STATUSES, Delivery, Enrollment, EnrollmentStatus, SequencePage, StepEmailPage


def reach_of_step(step: StepEmailPage, *, parent: Any = None) -> int | None:
    """Active or paused enrollments of the step's sequence that have not passed its position.

    A new step (not yet saved) goes last, so it reaches everyone still in the sequence; a
    customer who already finished the sequence never gets it. None outside a sequence.
    """
    if parent is None and step.pk is not None:
        parent = step.get_parent()
    sequence = parent.specific if parent is not None else None
    if not isinstance(sequence, SequencePage):
        return None
    enrollments = Enrollment.objects.filter(
        sequence=sequence, status__in=[EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED]
    )
    if step.pk is not None and step.path:
        done_here = Delivery.objects.filter(step_path=step.path, status__in=FINAL_DELIVERY_STATUSES)
        enrollments = enrollments.exclude(deliveries__step_path__gt=step.path).exclude(
            pk__in=done_here.values("enrollment_id")
        )
    return enrollments.count()
