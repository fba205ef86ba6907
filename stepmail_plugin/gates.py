"""Send-time rules: whether a claimed delivery goes out now, later, or not at all.

Checked by the dispatcher just before rendering, in this order:

1. the trigger object still stands (a submitted basket, a cancelled order end the enrollment;
   paused or ended enrollments are handled by the dispatcher before this);
2. a purchase the sequence stops on ends it;
3. the step's condition (bought since entering, opened or clicked the previous mail) holds,
   else the step is skipped and the next one follows;
4. the mail is not stale (later than the sequence's staleness limit after its moment);
5. the send window is open in the contact's time zone, else the mail waits for it;
6. the frequency cap across marketing sequences has room, else the mail waits (higher-priority
   sequences first; the cap comes from the site's step mail settings, else ``FREQUENCY_CAPS``) — up to ``FREQUENCY_CAP_MAX_DELAY_HOURS``, after which it is skipped.

Everything is loaded once per batch (:class:`SendGate`), never per mail.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from .conf import stepmail_settings
from .entry import RuleLists, is_order
from .models import Delivery, DeliveryStatus, EnrollmentStatus, SequenceKind
from .models.rules import SendCondition
from .scheduling import SendWindow, cap_release, due_at_for, parse_caps, zone_for
from .triggers.registry import registry

PURCHASE_CONDITIONS = {SendCondition.PURCHASED, SendCondition.NOT_PURCHASED}
PREVIOUS_CONDITIONS = {SendCondition.OPENED, SendCondition.NOT_OPENED, SendCondition.CLICKED}


@dataclass
class Decision:
    """Not now: skip (``until`` None) or wait until ``until``."""

    reason: str
    until: datetime | None = None
    exit_enrollment: bool = False

    @property
    def is_delay(self) -> bool:
        return self.until is not None


class SendGate:
    """The send-time rules for one claimed batch, with what they need loaded up front."""

    def __init__(self, deliveries: list[Delivery], sequences: dict[int, Any], steps: dict[int, Any],
                 objects: dict[tuple[int, str], Any], *, now: datetime | None = None,
                 caps: list[tuple[int, float]] | None = None):
        self.now = now or timezone.now()
        self.sequences = sequences
        self.objects = objects
        # The dispatcher reads the caps once per tick (site settings, else STEPMAIL).
        self.caps = parse_caps(caps if caps is not None else stepmail_settings.FREQUENCY_CAPS)
        self.max_cap_delay = timedelta(hours=stepmail_settings.FREQUENCY_CAP_MAX_DELAY_HOURS or 0)
        enrollments = {d.enrollment_id: d.enrollment for d in deliveries}
        # Exit products of every sequence, kept with the live-sequence cache (live.py; any page
        # change clears it): usually no query.
        from .exits import purchase_exit_rules

        _any_purchase, by_product = purchase_exit_rules()
        self.exit_products: dict[int, RuleLists] = defaultdict(RuleLists)
        self._stops: dict[tuple[int, str], bool] = {}
        for sequence_id in sequences:
            if by_product.get(sequence_id):
                self.exit_products[sequence_id] = RuleLists(exit_products=set(by_product[sequence_id]))

        # Purchases since entering: for sequences that stop on a purchase and purchase conditions.
        needs_purchases = [
            e for d in deliveries if (e := d.enrollment) is not None and (
                self._stops_on_purchase(e)
                or getattr(steps.get(d.step_id), "send_condition", None) in PURCHASE_CONDITIONS
            )
        ]
        self.purchases = None
        if needs_purchases:
            from .triggers.purchases import PurchaseIndex

            self.purchases = PurchaseIndex(
                {e.contact for e in needs_purchases},
                since=min(e.anchor_at for e in needs_purchases),
                with_products=any(self.exit_products[e.sequence_id].exit_products for e in needs_purchases),
            )

        # The previous mail of each enrollment, for open/click conditions.
        self.previous: dict[int, list[tuple[str, timedelta | None, Any, Any]]] = defaultdict(list)
        wanting = {d.enrollment_id for d in deliveries
                   if getattr(steps.get(d.step_id), "send_condition", None) in PREVIOUS_CONDITIONS}
        if wanting:
            for enrollment_id, path, opened, clicked, value, unit in Delivery.objects.filter(
                enrollment_id__in=wanting, status=DeliveryStatus.SENT
            ).values_list("enrollment_id", "step_path", "opened_at", "clicked_at", "step__delay_value", "step__delay_unit"):
                delay = timedelta(**{unit: value}) if unit and value is not None else None
                self.previous[enrollment_id].append((path, delay, opened, clicked))

        # Frequency cap: recent marketing mail per contact, and mail competing for the same room.
        self.sent: dict[int, list[datetime]] = defaultdict(list)
        self.pending: dict[int, Counter] = defaultdict(Counter)
        self.waiting: dict[int, list[int]] = defaultdict(list)
        marketing = [
            d for d in deliveries
            if (s := sequences.get(d.enrollment.sequence_id)) is not None and s.is_marketing
            and d.step_id in steps and steps[d.step_id].live
        ]
        if self.caps and marketing:
            contact_ids = {d.enrollment.contact_id for d in marketing}
            since = self.now - max(period for _, period in self.caps)
            for contact_id, sent_at, claimed_at in Delivery.objects.filter(
                enrollment__contact_id__in=contact_ids,
                enrollment__sequence__kind=SequenceKind.MARKETING,
            ).filter(
                Q(status=DeliveryStatus.SENT, sent_at__gt=since)
                # Mail another worker is sending (or may have sent) counts too.
                | Q(status__in=[DeliveryStatus.SENDING, DeliveryStatus.UNCERTAIN], claimed_at__gt=since)
            ).values_list("enrollment__contact_id", "sent_at", "claimed_at"):
                self.sent[contact_id].append(sent_at or claimed_at)
            for d in marketing:
                self.pending[d.enrollment.contact_id][sequences[d.enrollment.sequence_id].priority] += 1
            for contact_id, priority in Delivery.objects.filter(
                enrollment__contact_id__in=contact_ids,
                enrollment__sequence__kind=SequenceKind.MARKETING,
                enrollment__sequence__live=True,
                enrollment__status=EnrollmentStatus.ACTIVE,
                status__in=[DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED],
                due_at__lte=self.now,
            ).exclude(pk__in=[d.pk for d in deliveries]).values_list(
                "enrollment__contact_id", "enrollment__sequence__priority"
            ):
                self.waiting[contact_id].append(priority)
        self._enrollments = enrollments
        # Per sequence (by identity, the sequence kept beside it): see _sequence_rules.
        self._rules: dict[int, tuple] = {}
        self._triggers: dict[str, Any] = {}

    # -- helpers ------------------------------------------------------------------------------
    def _stops_on_purchase(self, enrollment: Any) -> bool:
        # Asked for every mail, twice: the answer depends on the sequence and trigger only.
        key = (enrollment.sequence_id, enrollment.trigger)
        stops = self._stops.get(key)
        if stops is None:
            sequence = self.sequences.get(enrollment.sequence_id)
            trigger = registry.find(enrollment.trigger)
            stops = self._stops[key] = bool(
                (sequence is not None and sequence.exit_on_purchase)
                or (trigger is not None and trigger.exits_on_purchase)
                or self.exit_products[enrollment.sequence_id].exit_products
            )
        return stops

    def _trigger_order_id(self, enrollment: Any, obj: Any) -> Any:
        return obj.pk if is_order(obj) else None

    def _previous_mail(self, delivery: Delivery, step: Any):
        """The last mail sent before this step's moment: an earlier step with a shorter delay.

        Steps with the same delay are alternatives (e.g. "opened" and "did not open" the day-0
        mail), so they look past each other to the same earlier mail.
        """
        own = None if step.counts_from_supply else step.delay
        earlier = [
            row for row in self.previous.get(delivery.enrollment_id, ())
            if row[0] < delivery.step_path and (own is None or row[1] is None or row[1] < own)
        ]
        if not earlier:
            return None
        _, _, opened, clicked = max(earlier, key=lambda row: row[0])
        return opened, clicked

    # -- the decision -------------------------------------------------------------------------
    def decide(self, delivery: Delivery, sequence: Any, step: Any, obj: Any, *, enrollment: Any = None,
               contact: Any = None) -> Decision | None:
        """None to send now, else a :class:`Decision` to skip or wait. ``enrollment`` and
        ``contact``: the delivery's, when the caller has them at hand."""
        if enrollment is None:
            enrollment = delivery.enrollment
        if contact is None:
            contact = enrollment.contact
        now = self.now
        is_marketing, priority, stale_after, window, always_open = self._sequence_rules(sequence)
        if is_marketing:
            self.pending[contact.pk][priority] -= 1

        trigger_key = enrollment.trigger
        try:
            trigger = self._triggers[trigger_key]
        except KeyError:
            trigger = self._triggers[trigger_key] = registry.find(trigger_key)
        if trigger is not None and trigger.exit_reason is not None and enrollment.object_id:
            reason = trigger.exit_reason(obj)
            if reason:
                return Decision(reason, exit_enrollment=True)
        if self.purchases is not None and self._stops_on_purchase(enrollment):
            any_purchase = sequence.exit_on_purchase or (trigger is not None and trigger.exits_on_purchase)
            products = None if any_purchase else self.exit_products[enrollment.sequence_id].exit_products
            if self.purchases.bought_since(contact, enrollment.anchor_at,
                                           exclude_order_id=self._trigger_order_id(enrollment, obj),
                                           products=products):
                return Decision("purchased", exit_enrollment=True)

        if step.counts_from_supply and enrollment.supply_days is None:
            return Decision("no_supply_info")
        condition = step.send_condition
        if condition in PURCHASE_CONDITIONS and self.purchases is not None:
            bought = self.purchases.bought_since(
                contact, enrollment.anchor_at, exclude_order_id=self._trigger_order_id(enrollment, obj)
            )
            if bought != (condition == SendCondition.PURCHASED):
                return Decision("condition_not_met")
        elif condition in PREVIOUS_CONDITIONS:
            previous = self._previous_mail(delivery, step)
            opened = bool(previous and previous[0])
            clicked = bool(previous and previous[1])
            met = {
                SendCondition.OPENED: opened,
                SendCondition.NOT_OPENED: previous is not None and not opened,
                SendCondition.CLICKED: clicked,
            }[condition]
            if not met:
                return Decision("condition_not_met")

        # The step's own moment matters only to the staleness limit and the frequency cap:
        # worked out only when one of them applies (most mails go out with neither in play).
        moment = due_at_for(enrollment, step) if stale_after is not None or self.caps else None
        if stale_after is not None and now > moment + stale_after:
            return Decision("stale")

        until, reason = now, ""
        # An always-open window ignores the zone (working it out reads the settings).
        if always_open:
            tz = UTC
        else:
            tz = zone_for(contact)
            if not window.contains(now, tz):
                until, reason = window.next_open(now, tz), "send_window"
        if self.caps and is_marketing:
            ahead = sum(n for p, n in self.pending[contact.pk].items() if p > priority and n > 0)
            ahead += sum(1 for p in self.waiting.get(contact.pk, ()) if p > priority)
            release = cap_release(self.sent[contact.pk] + [now] * ahead, self.caps, until)
            if release > until:
                if release - moment > self.max_cap_delay:
                    return Decision("frequency_cap")
                until, reason = window.next_open(release, tz), "frequency_cap"
        if until > now:
            if stale_after is not None and until > moment + stale_after:
                return Decision("stale")
            return Decision(reason, until=until)
        if is_marketing and self.caps:
            self.sent[contact.pk].append(now)
        return None

    def _sequence_rules(self, sequence: Any) -> tuple[bool, int, timedelta | None, SendWindow, bool]:
        """Whether ``sequence`` is marketing, its priority, staleness limit (reads the settings),
        send window and whether that is always open: worked out once per sequence and batch."""
        found = self._rules.get(id(sequence))
        if found is None or found[0] is not sequence:
            window = SendWindow.for_sequence(sequence)
            found = self._rules[id(sequence)] = (
                sequence, (sequence.is_marketing, sequence.priority, sequence.stale_after, window, window.always_open),
            )
        return found[1]
