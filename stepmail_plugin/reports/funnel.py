"""The numbers of a sequence report: one row per step, with drop-off to the next step."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db.models import Count, Exists, OuterRef, QuerySet

from ..models import Delivery, DeliveryEvent, DeliveryStatus, Enrollment, EventType, SequencePage, StepEmailPage
from ..reasons import outcome_label
from ..tracking.metrics import PENDING, Counts, count_deliveries

REACHED = (DeliveryStatus.SENT, DeliveryStatus.UNCERTAIN, *PENDING)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


@dataclass
class StepRow:
    """One step's funnel (exported as one spreadsheet row)."""

    position: int
    step_id: int | None
    title: str
    delay: str
    counts: Counts
    live: bool = True
    continued: int | None = None
    waiting: int | None = None
    dropped: int | None = None
    drop_reasons: dict[str, int] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    has_variants: bool = False

    def __getattr__(self, name: str) -> Any:
        # Counts' fields and rates read as the row's own (list_export and templates use them).
        counts = self.__dict__.get("counts")
        if counts is not None and hasattr(counts, name):
            return getattr(counts, name)
        raise AttributeError(name)

    @property
    def open_rate_pct(self):
        return _pct(self.counts.open_rate)

    @property
    def click_rate_pct(self):
        return _pct(self.counts.click_rate)

    @property
    def click_to_open_pct(self):
        return _pct(self.counts.click_to_open_rate)

    @property
    def conversion_rate_pct(self):
        return _pct(self.counts.conversion_rate)

    @property
    def unsubscribe_rate_pct(self):
        return _pct(self.counts.unsubscribe_rate)

    @property
    def bounce_rate_pct(self):
        return _pct(self.counts.bounce_rate)

    @property
    def dropoff_pct(self):
        if self.dropped is None or not self.counts.sent:
            return None
        return _pct(self.dropped / self.counts.sent)

    @property
    def skip_reasons(self) -> str:
        return ", ".join(f"{outcome_label(reason)} ({n})" for reason, n in sorted(self.counts.reasons.items()))

    @property
    def drop_reasons_text(self) -> str:
        return ", ".join(f"{outcome_label(reason)} ({n})" for reason, n in sorted(self.drop_reasons.items(), key=lambda i: -i[1]))


@dataclass
class SequenceReport:
    sequence: SequencePage
    rows: list[StepRow]
    totals: Counts
    enrolled: int
    held_out: int


def display_url(url: str) -> str:
    """A clicked URL without the UTM parameters we added (for grouping and reading)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def sequence_report(sequence: SequencePage, enrollments: QuerySet | None = None) -> SequenceReport:
    """The funnel of ``sequence`` for ``enrollments`` (a cohort; default: all of them)."""
    if enrollments is None:
        enrollments = Enrollment.objects.filter(sequence=sequence)
    deliveries = Delivery.objects.filter(enrollment__in=enrollments.values("pk"))
    by_step = count_deliveries(deliveries, ["step_path"])
    steps = {s.path: s for s in StepEmailPage.objects.child_of(sequence).order_by("path")}
    with_variants = set(
        StepEmailPage.objects.child_of(sequence).filter(variants__isnull=False).values_list("pk", flat=True)
    )
    paths = sorted(set(steps) | {path for (path,) in by_step})
    rows: list[StepRow] = []
    for position, path in enumerate(paths, start=1):
        step = steps.get(path)
        rows.append(StepRow(
            position=position,
            step_id=step.pk if step else None,
            title=step.title if step else "(deleted step)",
            delay=step.delay_display if step else "",
            counts=by_step.get((path,), Counts()),
            live=bool(step and step.live),
            has_variants=bool(step and step.pk in with_variants),
        ))
    for row, following in zip(rows, rows[1:]):
        path, next_path = paths[row.position - 1], paths[following.position - 1]
        row.continued = following.counts.sent + following.counts.uncertain
        row.waiting = following.counts.pending
        row.dropped = max(0, row.counts.sent - row.continued - row.waiting)
        row.drop_reasons = _drop_reasons(deliveries, path, next_path)
    _add_links(rows, paths, deliveries)
    totals = Counts()
    for row in rows:
        totals.add(row.counts)
    return SequenceReport(sequence, rows, totals, enrollments.count(), enrollments.filter(holdout=True).count())


def _drop_reasons(deliveries: QuerySet, path: str, next_path: str) -> dict[str, int]:
    """Why people who got the mail at ``path`` did not get the one at ``next_path``."""
    reached_here = deliveries.filter(step_path=path, status=DeliveryStatus.SENT).values("enrollment_id")
    reasons: Counter = Counter()
    for row in (
        deliveries.filter(step_path=next_path, enrollment_id__in=reached_here)
        .exclude(status__in=REACHED).values("status", "reason").annotate(n=Count("pk"))
    ):
        reasons[f"{row['status']}: {row['reason'] or '—'}"] += row["n"]
    for row in (
        Enrollment.objects.filter(pk__in=reached_here)
        .exclude(Exists(Delivery.objects.filter(enrollment=OuterRef("pk"), step_path=next_path)))
        .values("status", "exit_reason").annotate(n=Count("pk"))
    ):
        reasons[f"{row['status']}: {row['exit_reason'] or '—'}"] += row["n"]
    return dict(reasons)


def _add_links(rows: list[StepRow], paths: list[str], deliveries: QuerySet) -> None:
    """Clicks per link and step: total clicks and people (the seeds' interest measure)."""
    clicks = (
        DeliveryEvent.objects.filter(delivery__in=deliveries.values("pk"), event_type=EventType.CLICKED)
        .exclude(url="").values("delivery__step_path", "url")
        .annotate(total=Count("pk"), people=Count("delivery_id", distinct=True))
    )
    merged: dict[str, dict[str, dict[str, int]]] = {}
    for row in clicks:
        url = display_url(row["url"])
        entry = merged.setdefault(row["delivery__step_path"], {}).setdefault(url, {"total": 0, "people": 0})
        entry["total"] += row["total"]
        entry["people"] += row["people"]
    for row, path in zip(rows, paths):
        links = merged.get(path, {})
        row.links = sorted(({"url": u, **n} for u, n in links.items()), key=lambda e: (-e["total"], e["url"]))[:10]


def revenue_total(report: SequenceReport) -> Decimal:
    return report.totals.revenue
