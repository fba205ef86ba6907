"""Holdout groups: a share of a sequence's enrollments that receives nothing, for comparison."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..models import EnrollmentStatus
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


def apply_holdout(rows: Iterable[dict[str, Any]], sequences: Mapping[int, Any], now: datetime) -> None:
    """Mark the new enrollments (rows to insert, by attname) that fall in their sequence's holdout
    group, before they are saved.

    They end at once (``completed``, exit reason ``holdout``) and get no deliveries, but their
    orders are recorded like everyone's (see attribution.record_enrollment_orders).
    """
    for row in rows:
        percent = getattr(sequences[row["sequence_id"]], "holdout_percent", 0)
        if in_holdout(row["sequence_id"], row["contact_id"], percent):
            row.update(holdout=True, status=EnrollmentStatus.COMPLETED, exit_reason="holdout", ended_at=now)
