"""Date triggers: birthdays, anniversaries and dormant customers, found by scheduled scans.

``scan_dates`` (schedule ``stepmail.scan_dates``, hourly) enrolls on each customer's local date in
their own time zone, so a customer in Tokyo and one in New York both start on their own day.
Once a year per sequence (the key is ``birthday:<year>`` / ``anniversary:<year>``); a 29 February
date falls on ``LEAP_DAY_FALLBACK`` in other years; missed days (downtime) are caught up for
``DATE_SCAN_LOOKBACK_DAYS`` and the staleness limit decides whether a late mail still goes.

``scan_dormant`` (schedule ``stepmail.scan_dormant``, daily) enrolls customers whose last order
is older than the sequence's threshold (default ``DORMANT_DAYS``), once per dormant period
(the key names the last order's time); any order ends the enrollment.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Max, Min, Q
from django.db.models.functions import Lower
from django.utils.module_loading import import_string
from oscar.core.loading import get_model

from ..conf import stepmail_settings
from ..models import Contact, Enrollment, SequencePage, normalize_email
from ..models.rules import AnniversaryOf
from ..scheduling import local_instant, zone_for
from .registry import ANNIVERSARY, BIRTHDAY, CUSTOMER_DORMANT
from .scans import enroll_quietly, live_sequences, lookback, now, threshold, user_consent


# -- calendar -----------------------------------------------------------------------------------
def occurrence(origin: date, year: int) -> date:
    """The date ``origin`` (a birthday, a registration) falls on in ``year``; 29 February falls
    on ``LEAP_DAY_FALLBACK`` (28 February or 1 March) in years without one."""
    if (origin.month, origin.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 3, 1) if stepmail_settings.LEAP_DAY_FALLBACK == "03-01" else date(year, 2, 28)
    return date(year, origin.month, origin.day)


def month_days(days: Iterable[date]) -> set[tuple[int, int]]:
    """(month, day) pairs whose occurrence can be one of ``days`` (adds 29 February where needed)."""
    pairs = set()
    for day in days:
        pairs.add((day.month, day.day))
        if not calendar.isleap(day.year) and occurrence(date(2000, 2, 29), day.year) == day:
            pairs.add((2, 29))
    return pairs


def _month_day_q(field: str, pairs: set[tuple[int, int]]) -> Q:
    condition = Q(pk__in=[])
    for month, day in pairs:
        condition |= Q(**{f"{field}__month": month, f"{field}__day": day})
    return condition


@dataclass
class Candidate:
    """Someone whose date may come round: who, their contact if known, and the original date."""

    person: Any  # Contact, user or email
    origin: date
    contact: Contact | None = None
    email: str = ""
    user_id: int | None = None


def _start_day(candidate: Candidate, lead: timedelta, moment: datetime, *, after_origin: bool) -> date | None:
    """The local day (within the catch-up period) the candidate's sequence starts, or None."""
    tz = zone_for(candidate.contact)
    today = moment.astimezone(tz).date()
    for back in range(stepmail_settings.DATE_SCAN_LOOKBACK_DAYS, -1, -1):
        day = today - timedelta(days=back)
        target = day + lead
        if after_origin and target.year <= candidate.origin.year:
            continue
        if occurrence(candidate.origin, target.year) == target:
            return day
    return None


def _already(sequence: SequencePage, keys: set[str]) -> tuple[set[tuple[str, str]], set[tuple[int, str]]]:
    by_email, by_user = set(), set()
    for email, user_id, key in Enrollment.objects.filter(sequence=sequence, key__in=keys).values_list(
        "contact__email", "contact__user_id", "key"
    ):
        by_email.add((email, key))
        if user_id:
            by_user.add((user_id, key))
    return by_email, by_user


def _enroll_candidates(sequence: SequencePage, trigger_key: str, candidates: list[Candidate], lead: timedelta,
                       moment: datetime, *, after_origin: bool, match: dict[str, Any],
                       purchase_relationship: bool = False) -> int:
    due: list[tuple[Candidate, date, str]] = []
    for candidate in candidates:
        day = _start_day(candidate, lead, moment, after_origin=after_origin)
        if day is not None:
            due.append((candidate, day, f"{trigger_key}:{(day + lead).year}"))
    if not due:
        return 0
    by_email, by_user = _already(sequence, {key for _, _, key in due})
    enrolled = 0
    for candidate, day, key in due:
        if (candidate.email, key) in by_email or (candidate.user_id, key) in by_user:
            continue
        anchor = local_instant(day, time(0), zone_for(candidate.contact))
        consent = user_consent() if candidate.user_id else ""
        enrolled += enroll_quietly(
            candidate.person, trigger_key, at=anchor, key=key,
            match={"sequence_ids": [sequence.pk], **match}, consent_source=consent,
            purchase_relationship=purchase_relationship,
        )
    return enrolled


def _contacts_by_user(user_ids: Iterable[int]) -> dict[int, Contact]:
    return {c.user_id: c for c in Contact.objects.filter(user_id__in=list(user_ids))}


def _contacts_by_email(emails: Iterable[str]) -> dict[str, Contact]:
    return {c.email: c for c in Contact.objects.filter(email__in=list(emails))}


def _span(moment: datetime, lead: timedelta) -> list[date]:
    """Calendar dates some time zone's start day + lead can be, catch-up included (±1 day slack)."""
    today = moment.astimezone(UTC).date()
    back = stepmail_settings.DATE_SCAN_LOOKBACK_DAYS
    return [today + lead + timedelta(days=k) for k in range(-back - 2, 3)]


# -- birthdays ----------------------------------------------------------------------------------
def birthday_candidates(pairs: set[tuple[int, int]]) -> list[Candidate]:
    candidates = [
        Candidate(c, c.birthday, c, c.email, c.user_id)
        for c in Contact.objects.filter(birthday__isnull=False).filter(_month_day_q("birthday", pairs))
    ]
    source = stepmail_settings.BIRTHDAY_SOURCE
    if source:
        known = {c.email for c in candidates}
        for person, birthday in import_string(source)(pairs):
            if isinstance(person, Contact):
                email, user_id, contact = person.email, person.user_id, person
            elif isinstance(person, str):
                email, user_id, contact = normalize_email(person), None, None
            else:
                email, user_id, contact = normalize_email(getattr(person, "email", "")), person.pk, None
            if birthday and email and email not in known:
                candidates.append(Candidate(person, birthday, contact, email, user_id))
        missing = {c.email for c in candidates if c.contact is None}
        if missing:
            contacts = _contacts_by_email(missing)
            for c in candidates:
                c.contact = c.contact or contacts.get(c.email)
    return candidates


# -- anniversaries ------------------------------------------------------------------------------
def registration_candidates(pairs: set[tuple[int, int]]) -> list[Candidate]:
    User = get_user_model()
    users = list(User._default_manager.filter(_month_day_q("date_joined", pairs)).exclude(email=""))
    contacts = _contacts_by_user(u.pk for u in users)
    found = []
    for user in users:
        contact = contacts.get(user.pk)
        found.append(Candidate(user, user.date_joined.astimezone(zone_for(contact)).date(), contact,
                               normalize_email(user.email), user.pk))
    return found


def first_order_candidates(pairs: set[tuple[int, int]]) -> list[Candidate]:
    Order = get_model("order", "Order")
    orders = Order._default_manager.exclude(status__in=list(stepmail_settings.CANCELLED_ORDER_STATUSES))
    day_orders = list(
        orders.filter(_month_day_q("date_placed", pairs)).select_related("user").order_by("date_placed", "pk")
    )
    user_ids = {o.user_id for o in day_orders if o.user_id}
    guests = {normalize_email(o.guest_email) for o in day_orders if not o.user_id and o.guest_email}
    firsts_user = dict(orders.filter(user_id__in=user_ids).values("user_id").annotate(first=Min("date_placed"))
                       .values_list("user_id", "first"))
    firsts_guest = dict(
        orders.filter(user__isnull=True).annotate(email=Lower("guest_email")).filter(email__in=guests)
        .values("email").annotate(first=Min("date_placed")).values_list("email", "first")
    )
    by_user = _contacts_by_user(user_ids)
    by_email = _contacts_by_email(guests)
    found, seen = [], set()
    for order in day_orders:
        if order.user_id:
            if firsts_user.get(order.user_id) != order.date_placed or ("u", order.user_id) in seen:
                continue
            seen.add(("u", order.user_id))
            contact = by_user.get(order.user_id)
            found.append(Candidate(order.user, order.date_placed.astimezone(zone_for(contact)).date(), contact,
                                   normalize_email(order.user.email), order.user_id))
        else:
            email = normalize_email(order.guest_email)
            if not email or firsts_guest.get(email) != order.date_placed or ("e", email) in seen:
                continue
            seen.add(("e", email))
            contact = by_email.get(email)
            found.append(Candidate(email, order.date_placed.astimezone(zone_for(contact)).date(), contact, email))
    return found


def _widen(pairs_days: list[date]) -> set[tuple[int, int]]:
    # Stored times are compared as dates of the site's zone; a customer's own zone can be a day off.
    return month_days({d + timedelta(days=k) for d in pairs_days for k in (-1, 0, 1)})


def scan_dates() -> dict[str, int]:
    """Enroll customers whose birthday or anniversary (or the lead time before it) is today in
    their time zone, catching up missed days."""
    moment = now()
    report = {"sequences": 0, "enrolled": 0}
    for sequence in live_sequences(BIRTHDAY.key):
        report["sequences"] += 1
        lead = timedelta(days=threshold(sequence, timedelta(0)).days)
        candidates = birthday_candidates(month_days(_span(moment, lead)))
        report["enrolled"] += _enroll_candidates(
            sequence, BIRTHDAY.key, candidates, lead, moment, after_origin=False, match={}
        )
    for sequence in live_sequences(ANNIVERSARY.key):
        report["sequences"] += 1
        lead = timedelta(days=threshold(sequence, timedelta(0)).days)
        pairs = _widen(_span(moment, lead))
        if sequence.anniversary_of == AnniversaryOf.FIRST_ORDER:
            candidates = first_order_candidates(pairs)
        else:
            candidates = registration_candidates(pairs)
        report["enrolled"] += _enroll_candidates(
            sequence, ANNIVERSARY.key, candidates, lead, moment, after_origin=True,
            match={"anniversary_of": sequence.anniversary_of},
            # Customers who ordered have a purchase relationship, as with order triggers.
            purchase_relationship=sequence.anniversary_of == AnniversaryOf.FIRST_ORDER,
        )
    return report


# -- dormant customers --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Customer:
    email: str
    user_id: int | None


def scan_dormant() -> dict[str, int]:
    """Enroll customers whose last order is older than each sequence's threshold."""
    from .purchases import PurchaseIndex

    Order = get_model("order", "Order")
    User = get_user_model()
    moment = now()
    report = {"sequences": 0, "enrolled": 0}
    default = timedelta(days=stepmail_settings.DORMANT_DAYS)
    orders = Order._default_manager.exclude(status__in=list(stepmail_settings.CANCELLED_ORDER_STATUSES))
    for sequence in live_sequences(CUSTOMER_DORMANT.key):
        report["sequences"] += 1
        quiet = threshold(sequence, default)
        cutoff = moment - quiet
        oldest = cutoff - lookback()
        by_user = dict(
            orders.filter(user__isnull=False).values("user_id").annotate(last=Max("date_placed"))
            .filter(last__lte=cutoff, last__gt=oldest).values_list("user_id", "last")
        )
        by_guest = dict(
            orders.filter(user__isnull=True).annotate(email=Lower("guest_email")).exclude(email="")
            .values("email").annotate(last=Max("date_placed"))
            .filter(last__lte=cutoff, last__gt=oldest).values_list("email", "last")
        )
        users = User._default_manager.in_bulk(list(by_user))
        customers: dict[_Customer, tuple[Any, datetime]] = {}
        for user_id, last in by_user.items():
            user = users.get(user_id)
            if user is not None and user.email:
                customers[_Customer(normalize_email(user.email), user_id)] = (user, last)
        for email, last in by_guest.items():
            customers.setdefault(_Customer(email, None), (email, last))
        if not customers:
            continue
        # A guest who later ordered signed in (or the other way round) is not dormant.
        index = PurchaseIndex(list(customers), since=oldest)
        keys = {c: f"dormant:{int(last.timestamp())}" for c, (_, last) in customers.items()}
        by_email, by_user_done = _already(sequence, set(keys.values()))
        for customer, (person, last) in customers.items():
            latest = max((o.placed for o in index.orders_of(customer)), default=last)
            if latest > last:
                continue
            key = keys[customer]
            if (customer.email, key) in by_email or (customer.user_id, key) in by_user_done:
                continue
            report["enrolled"] += enroll_quietly(
                person, CUSTOMER_DORMANT.key, at=last + quiet, key=key, match={"sequence_ids": [sequence.pk]}
            )
    return report
