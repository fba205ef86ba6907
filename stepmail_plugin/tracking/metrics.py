"""Counting deliveries by what happened to them: one aggregate query per grouping.

Definitions (see ``docs/metrics.md``): *sent* = handed to the ESP; *bounced* = sent and then
reported bounced, rejected or failed by the ESP; *delivered* = sent − bounced; *opened* and
*clicked* = at least one open (a click counts as an open) or click; *converted* = credited with
an order; *unsubscribed* and *complained* = that mail's recipient unsubscribed or complained.
Counts are of mails (unique), never of events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from ..models import Conversion, Delivery, DeliveryEvent, DeliveryStatus, EventType

BOUNCE_EVENTS = (EventType.BOUNCED, EventType.REJECTED, EventType.FAILED)
PENDING = (DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass
class Counts:
    """What happened to a group of deliveries."""

    total: int = 0
    sent: int = 0
    bounced: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    revenue: Decimal = Decimal("0")
    unsubscribed: int = 0
    complained: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    pending: int = 0
    uncertain: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def delivered(self) -> int:
        return max(0, self.sent - self.bounced)

    @property
    def delivery_rate(self):
        return _ratio(self.delivered, self.sent)

    @property
    def bounce_rate(self):
        return _ratio(self.bounced, self.sent)

    @property
    def open_rate(self):
        return _ratio(self.opened, self.delivered)

    @property
    def click_rate(self):
        return _ratio(self.clicked, self.delivered)

    @property
    def click_to_open_rate(self):
        return _ratio(self.clicked, self.opened)

    @property
    def conversion_rate(self):
        return _ratio(self.converted, self.delivered)

    @property
    def unsubscribe_rate(self):
        return _ratio(self.unsubscribed, self.delivered)

    @property
    def complaint_rate(self):
        return _ratio(self.complained, self.delivered)

    @property
    def revenue_per_mail(self):
        return self.revenue / self.delivered if self.delivered else None

    def successes(self, metric: str) -> int:
        return {"opened": self.opened, "clicked": self.clicked, "converted": self.converted}[metric]

    def add(self, other: Counts) -> None:
        for name in ("total", "sent", "bounced", "opened", "clicked", "converted", "unsubscribed",
                     "complained", "failed", "skipped", "cancelled", "pending", "uncertain"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.revenue += other.revenue
        for reason, n in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + n


def _has_event(*kinds: str) -> Exists:
    return Exists(DeliveryEvent.objects.filter(delivery=OuterRef("pk"), event_type__in=kinds))


def count_deliveries(deliveries: QuerySet, group_by: Iterable[str] = ()) -> dict[Any, Counts]:
    """Counts per group (key: tuple of the ``group_by`` values; ``()`` for no grouping).

    Three queries whatever the number of groups: counts, revenue, and skip/cancel reasons.
    """
    group_by = list(group_by)
    sent = Q(status=DeliveryStatus.SENT)
    aggregates = dict(
        total=Count("pk"),
        sent=Count("pk", filter=sent),
        bounced=Count("pk", filter=sent & Q(_has_event(*BOUNCE_EVENTS))),
        opened=Count("pk", filter=sent & Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=sent & Q(clicked_at__isnull=False)),
        converted=Count("pk", filter=sent & Q(Exists(Conversion.objects.filter(delivery=OuterRef("pk"))))),
        unsubscribed=Count("pk", filter=Q(_has_event(EventType.UNSUBSCRIBED))),
        complained=Count("pk", filter=Q(_has_event(EventType.COMPLAINED))),
        failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
        skipped=Count("pk", filter=Q(status=DeliveryStatus.SKIPPED)),
        cancelled=Count("pk", filter=Q(status=DeliveryStatus.CANCELLED)),
        pending=Count("pk", filter=Q(status__in=PENDING)),
        uncertain=Count("pk", filter=Q(status=DeliveryStatus.UNCERTAIN)),
    )
    if group_by:
        rows = list(deliveries.order_by().values(*group_by).annotate(**aggregates))
    else:
        rows = [deliveries.order_by().aggregate(**aggregates)]
    result: dict[Any, Counts] = {}
    for row in rows:
        key = tuple(row.pop(name) for name in group_by)
        result[key] = Counts(**row)
    revenue_key = [f"delivery__{name}" for name in group_by]
    conversions = Conversion.objects.filter(delivery__in=deliveries.order_by().values("pk")).order_by()
    revenue_rows = (
        conversions.values(*revenue_key).annotate(revenue=Sum("amount")) if group_by
        else [conversions.aggregate(revenue=Sum("amount"))]
    )
    for row in revenue_rows:
        key = tuple(row[name] for name in revenue_key)
        if key in result:
            result[key].revenue = row["revenue"] or Decimal("0")
    for row in (
        deliveries.order_by().filter(status__in=[DeliveryStatus.SKIPPED, DeliveryStatus.CANCELLED,
                                                  DeliveryStatus.FAILED])
        .values(*group_by, "status", "reason").annotate(n=Count("pk")).order_by()
    ):
        key = tuple(row[name] for name in group_by)
        if key in result:
            label = f"{row['status']}: {row['reason'] or '—'}"
            result[key].reasons[label] = result[key].reasons.get(label, 0) + row["n"]
    return result


def totals(deliveries: QuerySet) -> Counts:
    """Counts over all ``deliveries``."""
    return count_deliveries(deliveries).get((), Counts())


def step_deliveries(step_id: int) -> QuerySet:
    return Delivery.objects.filter(step_id=step_id)
