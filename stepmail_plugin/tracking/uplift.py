"""What a sequence really earns: mailed vs held-out enrollments (intention to treat).

Everyone assigned to the mailed group counts as mailed, even if a mail was skipped, so the
comparison stays as random as the assignment. A contact *converted* if they ordered within
``OUTCOME_WINDOW_DAYS`` after entering (the order that started the enrollment excluded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from ..conf import stepmail_settings
from ..models import Enrollment, EnrollmentOrder
from . import stats


@dataclass
class Group:
    enrollments: int
    converted: int
    revenue: Decimal
    sample: stats.Sample

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.enrollments if self.enrollments else None

    @property
    def revenue_per_contact(self) -> float | None:
        return float(self.revenue) / self.enrollments if self.enrollments else None


@dataclass
class Uplift:
    mailed: Group
    held_out: Group
    confidence: float
    conversion_difference: float | None = None  # percentage points as a fraction
    conversion_interval: tuple[float, float] | None = None
    relative_uplift: float | None = None
    p_value: float | None = None
    revenue_difference: float | None = None
    revenue_interval: tuple[float, float] | None = None
    incremental_revenue: float | None = None  # per-contact difference × mailed contacts

    @property
    def significant(self) -> bool:
        return self.conversion_interval is not None and (
            self.conversion_interval[0] > 0 or self.conversion_interval[1] < 0
        )


def _group(enrollments) -> Group:
    n = enrollments.count()
    per_enrollment = list(
        EnrollmentOrder.objects.filter(enrollment__in=enrollments.values("pk"))
        .values("enrollment_id").annotate(total=Sum("amount")).values_list("total", flat=True)
    )
    revenue = sum((Decimal(v or 0) for v in per_enrollment), Decimal("0"))
    return Group(n, len(per_enrollment), revenue, stats.Sample.of(per_enrollment, n=n))


def holdout_uplift(
    sequence_id: int, *, since: datetime | None = None, until: datetime | None = None,
    confidence: float | None = None,
) -> Uplift:
    """Compare conversion and revenue per contact of mailed and held-out enrollments."""
    confidence = confidence or float(stepmail_settings.AB_CONFIDENCE)
    enrollments = Enrollment.objects.filter(sequence_id=sequence_id)
    if since is not None:
        enrollments = enrollments.filter(anchor_at__gte=since)
    if until is not None:
        enrollments = enrollments.filter(anchor_at__lt=until)
    mailed, held = _group(enrollments.filter(holdout=False)), _group(enrollments.filter(holdout=True))
    result = Uplift(mailed, held, confidence)
    if mailed.enrollments and held.enrollments:
        result.conversion_difference = mailed.conversion_rate - held.conversion_rate
        result.conversion_interval = stats.difference_interval(
            mailed.converted, mailed.enrollments, held.converted, held.enrollments, confidence)
        result.p_value = stats.two_proportion_test(
            mailed.converted, mailed.enrollments, held.converted, held.enrollments)[1]
        if held.conversion_rate:
            result.relative_uplift = mailed.conversion_rate / held.conversion_rate - 1
        result.revenue_difference = mailed.sample.mean - held.sample.mean
        result.revenue_interval = stats.mean_difference_interval(mailed.sample, held.sample, confidence)
        result.incremental_revenue = result.revenue_difference * mailed.enrollments
    return result
