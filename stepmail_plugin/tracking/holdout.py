"""Holdout groups: a share of a sequence's enrollments that receives nothing, for comparison."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..models import Enrollment, EnrollmentStatus
from .variants import bucket

#: Resolution of the holdout share: 1/100 of a percent.
BUCKETS = 10_000


def in_holdout(sequence_id: int, contact_id: int, percent: int) -> bool:
    """Whether this contact is held out of this sequence.

    Decided per (sequence, contact), not per enrollment, so a customer who orders twice stays in
    the same group; raising the share only adds people to the holdout, nobody leaves it.
    """
    if not percent or percent <= 0:
        return False
    return bucket("holdout", sequence_id, contact_id, size=BUCKETS) < percent * (BUCKETS // 100)


def apply_holdout(enrollments: Iterable[Enrollment], now: datetime) -> None:
    """Mark the new enrollments that fall in their sequence's holdout group (before saving them).

    They end at once (``completed``, exit reason ``holdout``) and get no deliveries, but their
    orders are recorded like everyone's (see attribution.record_enrollment_orders).
    """
    for enrollment in enrollments:
        percent = getattr(enrollment.sequence, "holdout_percent", 0)
        if in_holdout(enrollment.sequence_id, enrollment.contact_id, percent):
            enrollment.holdout = True
            enrollment.status = EnrollmentStatus.COMPLETED
            enrollment.exit_reason = "holdout"
            enrollment.ended_at = now
