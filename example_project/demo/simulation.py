"""Fast-forwarding the plugin's clock: run the dispatcher at chosen moments after an anchor.

``time_machine`` moves ``timezone.now()`` for everything in this process (the plugin, Django,
the ORM), so the dispatcher sends exactly what would be due at that moment, through the
configured email backend, and records it in the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import time_machine

from stepmail_plugin.dispatch import TickResult, dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus
from stepmail_plugin.signals import delivery_status_changed


@dataclass(frozen=True)
class Moment:
    """A point on the customer's clock, ``offset`` after the anchor."""

    label: str
    offset: timedelta


def moments_for(steps) -> list[Moment]:
    """When to look: at each step's delay, and one minute before the second step is due (to show
    that nothing goes out early). For the apparel scenario: days 0, 3 − 1 minute, 3, 5 and 7.

    Taken from the live steps rather than hard-coded, so the simulation follows the sequence as
    an editor has changed it.
    """
    by_delay: dict[timedelta, list[str]] = {}
    for step in steps:
        by_delay.setdefault(step.delay, []).append(step.title)
    moments: list[Moment] = []
    for i, (delay, titles) in enumerate(sorted(by_delay.items())):
        label = f"{offset_label(delay)}: {' / '.join(titles)}"
        early = delay - timedelta(minutes=1)
        if i == 1 and early > moments[-1].offset:
            moments.append(Moment(f"{offset_label(delay)} minus 1 minute", early))
        moments.append(Moment(label, delay))
    return moments


def offset_label(delay: timedelta) -> str:
    """「day 3」 for whole days, else the exact offset."""
    if delay % timedelta(days=1) == timedelta(0):
        return f"day {delay.days}"
    return f"+{delay}"


@dataclass
class Tick:
    """What one dispatcher run at a simulated moment did."""

    moment: Moment
    at: datetime
    result: TickResult
    sent: list[Delivery] = field(default_factory=list)


@contextmanager
def sent_deliveries() -> Iterator[list[Delivery]]:
    """Collect the deliveries the dispatcher reports as sent (the plugin's public signal)."""
    sent: list[Delivery] = []

    def receiver(sender, delivery, new_status, **kwargs):
        if new_status == DeliveryStatus.SENT:
            sent.append(delivery)

    delivery_status_changed.connect(receiver, weak=False)
    try:
        yield sent
    finally:
        delivery_status_changed.disconnect(receiver)


def dispatch_at(moment: Moment, anchor: datetime) -> Tick:
    """Travel to ``anchor + moment.offset`` (clock stopped there) and run one dispatcher tick."""
    at = anchor + moment.offset
    with sent_deliveries() as sent, time_machine.travel(at, tick=False):
        result = dispatch_due()
    return Tick(moment=moment, at=at, result=result, sent=list(sent))
