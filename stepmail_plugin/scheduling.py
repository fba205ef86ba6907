"""Due-time arithmetic: when a step of an enrollment goes out.

:func:`due_at_for` is the one place a step's moment is computed: the anchor plus the step's delay
(or, for refill reminders, the moment the bought supply runs out minus the step's lead time),
moved into the sequence's send window in the contact's time zone. The frequency cap is applied at
send time (see :mod:`stepmail_plugin.gates`) with :func:`cap_release`, because it depends on what
else was sent by then.

Everything here is pure: no queries, no Oscar, no anymail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from .models import Enrollment, StepEmailPage

logger = logging.getLogger(__name__)

#: Step fields due-time arithmetic reads; queries that load steps for scheduling load these.
STEP_TIMING_FIELDS = ("delay_value", "delay_unit", "delay_from")


# -- time zones ---------------------------------------------------------------------------------
@lru_cache(maxsize=512)
def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("stepmail: unknown time zone %r; using the default", name)
        return None


def default_zone() -> tzinfo:
    """The zone of contacts without one: ``STEPMAIL["TIME_ZONE"]`` or the site's ``TIME_ZONE``."""
    from django.conf import settings

    from .conf import stepmail_settings

    name = stepmail_settings.TIME_ZONE or getattr(settings, "TIME_ZONE", None) or "UTC"
    return _zone(name) or UTC


def contact_zone(contact: Any) -> tzinfo | None:
    """The contact's own time zone, or None when it has none (or an unknown one)."""
    name = getattr(contact, "timezone", "") if contact is not None else ""
    return _zone(name) if name else None


def zone_for(contact: Any) -> tzinfo:
    """The time zone of a contact (its own if valid, else the default)."""
    return contact_zone(contact) or default_zone()


def local_instant(day: date, at: time, tz: tzinfo) -> datetime:
    """The first instant whose local wall time in ``tz`` is ``day`` at ``at`` or later.

    On a day the clocks go forward, a wall time inside the gap does not exist: the answer is the
    moment the clocks jump. A repeated wall time (clocks going back) gives its first occurrence.
    """
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz)  # fold=0: the first occurrence, or the pre-gap offset
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # In a gap: search between the two readings of the wall time for the jump.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = first.astimezone(UTC)
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    floored = hi.replace(microsecond=0)  # transitions fall on whole seconds
    return floored if floored.astimezone(tz).replace(tzinfo=None) >= naive else hi


# -- send windows -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SendWindow:
    """Local hours and weekdays mail may go out; ``weekdays`` empty means every day (Monday=0)."""

    start: time | None = None
    end: time | None = None
    weekdays: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.end == time(0):  # "until 00:00" is until midnight
            object.__setattr__(self, "end", None)
        if self.start == time(0):
            object.__setattr__(self, "start", None)

    @classmethod
    def for_sequence(cls, sequence: Any) -> SendWindow:
        if sequence is None:
            return cls()
        cached = getattr(sequence, "_stepmail_window", None)
        if cached is None:
            from .models.rules import parse_weekdays

            cached = cls(
                getattr(sequence, "window_start", None),
                getattr(sequence, "window_end", None),
                parse_weekdays(getattr(sequence, "window_weekdays", "")),
            )
            sequence._stepmail_window = cached
        return cached

    @property
    def always_open(self) -> bool:
        return self.start is None and self.end is None and (not self.weekdays or len(self.weekdays) == 7)

    def _day_ok(self, day: date) -> bool:
        return not self.weekdays or day.weekday() in self.weekdays

    def contains(self, moment: datetime, tz: tzinfo) -> bool:
        """Whether ``moment`` falls inside the window, in local time of ``tz``."""
        if self.always_open:
            return True
        local = moment.astimezone(UTC).astimezone(tz)  # via UTC: normalises nonexistent wall times
        if not self._day_ok(local.date()):
            return False
        wall = local.time().replace(tzinfo=None)
        if self.start is not None and wall < self.start:
            return False
        if self.end is not None and wall >= self.end:
            return False
        return True

    def next_open(self, moment: datetime, tz: tzinfo) -> datetime:
        """``moment`` if the window is open then, else the earliest later instant it is open."""
        if self.contains(moment, tz):
            return moment
        day = moment.astimezone(tz).date()
        start = self.start or time(0)
        for offset in range(0, 9):
            candidate_day = day + timedelta(days=offset)
            if not self._day_ok(candidate_day):
                continue
            # The window opens at its start time; on a day the clocks go back also at the
            # start's second occurrence and at the jump back into the window's hours.
            candidates = [local_instant(candidate_day, start, tz)]
            wall = datetime.combine(candidate_day, start)
            second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
            if second.astimezone(tz).replace(tzinfo=None) == wall:  # a real second occurrence
                candidates.append(second)
            jump = _transition(candidate_day, tz)
            if jump is not None:
                candidates.append(jump)
            found = [c for c in candidates if c >= moment and self.contains(c, tz)]
            if found:
                return min(found)
        # Only a window that never opens (e.g. inside a DST gap every day) gets here.
        logger.warning("stepmail: send window %r never opens; sending at %s", self, moment)
        return moment


def _transition(day: date, tz: tzinfo) -> datetime | None:
    """The instant the UTC offset of ``tz`` changes on ``day``, if it does (at most one a day)."""
    lo = local_instant(day, time(0), tz).astimezone(UTC)
    hi = local_instant(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    before = lo.astimezone(tz).utcoffset()
    if hi.astimezone(tz).utcoffset() == before:
        return None
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    floored = hi.replace(microsecond=0)
    return floored if floored.astimezone(tz).utcoffset() != before else hi


# -- the due time -------------------------------------------------------------------------------
def raw_due_at(enrollment: Enrollment, step: StepEmailPage) -> datetime:
    """The step's moment before windows: anchor + delay, or supply end − lead for refill steps."""
    if getattr(step, "delay_from", "trigger") == "supply_end" and enrollment.supply_days is not None:
        runs_out = enrollment.anchor_at + timedelta(days=enrollment.supply_days)
        return max(enrollment.anchor_at, runs_out - step.delay)
    return enrollment.anchor_at + step.delay


def due_at_for(enrollment: Enrollment, step: StepEmailPage) -> datetime:
    """The moment ``step`` is due for ``enrollment``.

    Delays count from the trigger (「購入3日後」), not from the previous mail, so a late mail does
    not push the rest of the sequence back. The result is moved to the next opening of the
    sequence's send window in the contact's time zone. Reads ``enrollment.sequence`` and
    ``enrollment.contact``: callers that schedule many set them from batch-loaded objects.
    """
    window = SendWindow.for_sequence(enrollment.sequence)
    moment = raw_due_at(enrollment, step)
    if window.always_open:
        return moment
    return window.next_open(moment, zone_for(enrollment.contact))


# -- frequency caps -----------------------------------------------------------------------------
Cap = tuple[int, timedelta]


def parse_caps(value: Iterable[Sequence[Any]] | None) -> list[Cap]:
    """``[(1, 24), (3, 168)]`` (mails, hours) → [(1, 24 h), (3, 7 days)]; bad entries ignored."""
    caps = []
    for item in value or ():
        try:
            count, hours = int(item[0]), float(item[1])
        except (TypeError, ValueError, IndexError):
            logger.warning("stepmail: ignoring frequency cap %r (want (mails, hours))", item)
            continue
        if count >= 1 and hours > 0:
            caps.append((count, timedelta(hours=hours)))
    return caps


def cap_release(sent: Iterable[datetime], caps: Sequence[Cap], now: datetime) -> datetime:
    """The earliest moment ≥ ``now`` at which one more mail keeps every cap.

    ``sent`` are the moments earlier mails went out (to this contact, marketing only). A cap
    ``(n, period)`` allows at most ``n`` mails in any window ``(t − period, t]``.
    """
    moments = sorted(s for s in sent if s <= now)
    moment = now
    changed = True
    while changed:
        changed = False
        for count, period in caps:
            inside = [s for s in moments if s > moment - period]
            if len(inside) >= count:
                # The oldest mails must leave the window until only count − 1 remain.
                release = inside[len(inside) - count] + period
                if release > moment:
                    moment = release
                    changed = True
    return moment
