"""Crediting orders to mails (last touch, or a redeemed voucher), and recording every order after
an enrollment for the holdout comparison.

Orders are read by duck typing (``pk``, ``number``, ``email``, ``user_id``, ``date_placed``,
``total_incl_tax``, ``currency`` and, for vouchers, ``discounts`` with ``voucher_code``): Oscar's
``Order`` has them, and this module need not import Oscar. ``triggers/orders.py`` calls
:func:`attribute_order_safely` when an order is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..conf import stepmail_settings
from ..models import (
    AttributionMethod,
    Contact,
    Conversion,
    Delivery,
    DeliveryEvent,
    Enrollment,
    EnrollmentOrder,
    EventType,
    normalize_email,
)

logger = logging.getLogger(__name__)

VoucherFinder = Callable[[list[str]], "Delivery | None"]
_voucher_finders: list[VoucherFinder] = []


def register_voucher_finder(finder: VoucherFinder) -> VoucherFinder:
    """Let the voucher feature tell which delivery handed out a voucher code.

    ``finder(codes)`` gets the codes redeemed in an order and returns the delivery whose mail
    carried one of them, or None. Usable as a decorator; registering twice is harmless.
    """
    if finder not in _voucher_finders:
        _voucher_finders.append(finder)
    return finder


@dataclass
class OrderFacts:
    """What attribution needs to know about an order."""

    key: str
    number: str
    email: str
    user_id: int | None
    placed_at: datetime
    amount: Decimal
    currency: str
    voucher_codes: list[str] = field(default_factory=list)
    content_type_id: int | None = None
    object_id: str = ""


def order_facts(order: Any, voucher_codes: list[str] | None = None) -> OrderFacts:
    """Read an order (Oscar's, or anything shaped like it)."""
    content_type = ContentType.objects.get_for_model(order)
    if voucher_codes is None:
        voucher_codes = []
        discounts = getattr(order, "discounts", None)
        if discounts is not None and hasattr(discounts, "all"):
            voucher_codes = [d.voucher_code for d in discounts.all() if getattr(d, "voucher_code", "")]
    return OrderFacts(
        key=f"{content_type.app_label}.{content_type.model}:{order.pk}",
        number=str(getattr(order, "number", "") or ""),
        email=normalize_email(getattr(order, "email", "") or ""),
        user_id=getattr(order, "user_id", None),
        placed_at=getattr(order, "date_placed", None) or timezone.now(),
        amount=Decimal(str(getattr(order, "total_incl_tax", 0) or 0)),
        currency=str(getattr(order, "currency", "") or ""),
        voucher_codes=list(voucher_codes),
        content_type_id=content_type.pk,
        object_id=str(order.pk),
    )


def contacts_for(facts: OrderFacts) -> list[int]:
    condition = Q(email=facts.email) if facts.email else Q(pk__in=[])
    if facts.user_id:
        condition |= Q(user_id=facts.user_id)
    return list(Contact.objects.filter(condition).values_list("pk", flat=True))


def attribute_order(order: Any, *, voucher_codes: list[str] | None = None) -> Conversion | None:
    """Credit ``order`` to one mail and record it against the contact's recent enrollments.

    A voucher redeemed from a mail wins (hard attribution); otherwise the mail with the latest
    click within ``ATTRIBUTION_CLICK_DAYS`` or open within ``ATTRIBUTION_OPEN_DAYS`` before the
    order. Returns the conversion, or None when no mail earns it. Safe to call again.
    """
    facts = order_facts(order, voucher_codes)
    contacts = contacts_for(facts)
    with transaction.atomic():
        if contacts:
            record_enrollment_orders(facts, contacts)
        existing = Conversion.objects.filter(order_key=facts.key).first()
        if existing is not None:
            return existing
        credit = _voucher_credit(facts) or (_last_touch(facts, contacts) if contacts else None)
        if credit is None:
            return None
        delivery_id, method, touched_at = credit
        try:
            with transaction.atomic():
                return Conversion.objects.create(
                    order_key=facts.key, order_number=facts.number[:128], delivery_id=delivery_id,
                    method=method, amount=facts.amount, currency=facts.currency[:12],
                    ordered_at=facts.placed_at, touched_at=touched_at,
                )
        except IntegrityError:  # attributed concurrently
            return Conversion.objects.filter(order_key=facts.key).first()


def attribute_order_safely(order: Any) -> Conversion | None:
    """:func:`attribute_order` for signal receivers: never raises into the checkout."""
    try:
        return attribute_order(order)
    except Exception:
        logger.exception("stepmail: could not attribute order %s", getattr(order, "pk", None))
        return None


def _voucher_credit(facts: OrderFacts) -> tuple[int, str, datetime | None] | None:
    if not facts.voucher_codes:
        return None
    for finder in _voucher_finders:
        try:
            delivery = finder(list(facts.voucher_codes))
        except Exception:
            logger.exception("stepmail: voucher finder %r failed", finder)
            continue
        if delivery is not None:
            return delivery.pk, AttributionMethod.VOUCHER, getattr(delivery, "sent_at", None)
    return None


def _last_touch(facts: OrderFacts, contacts: list[int]) -> tuple[int, str, datetime] | None:
    placed = facts.placed_at
    click_from = placed - timedelta(days=stepmail_settings.ATTRIBUTION_CLICK_DAYS)
    open_from = placed - timedelta(days=stepmail_settings.ATTRIBUTION_OPEN_DAYS)
    latest = (
        DeliveryEvent.objects.filter(delivery__enrollment__contact_id__in=contacts, occurred_at__lte=placed)
        .filter(
            Q(event_type=EventType.CLICKED, occurred_at__gte=click_from)
            | Q(event_type=EventType.OPENED, occurred_at__gte=open_from)
        )
        # The latest touch wins; at the same moment a click beats an open.
        .order_by("-occurred_at", "event_type", "-delivery_id")
        .values_list("delivery_id", "event_type", "occurred_at")
        .first()
    )
    if latest is None:
        return None
    delivery_id, kind, at = latest
    method = AttributionMethod.CLICK if kind == EventType.CLICKED else AttributionMethod.OPEN
    return delivery_id, method, at


def record_enrollment_orders(facts: OrderFacts, contacts: list[int]) -> int:
    """Record the order against each enrollment of the contact that started within
    ``OUTCOME_WINDOW_DAYS`` before it (held out or not), except the one it started itself."""
    since = facts.placed_at - timedelta(days=stepmail_settings.OUTCOME_WINDOW_DAYS)
    enrollments = Enrollment.objects.filter(
        contact_id__in=contacts, anchor_at__gte=since, anchor_at__lt=facts.placed_at
    )
    if facts.content_type_id:
        enrollments = enrollments.exclude(object_type_id=facts.content_type_id, object_id=facts.object_id)
    rows = [
        EnrollmentOrder(
            enrollment_id=pk, order_key=facts.key, order_number=facts.number[:128], amount=facts.amount,
            currency=facts.currency[:12], ordered_at=facts.placed_at,
        )
        for pk in enrollments.values_list("pk", flat=True)
    ]
    if rows:
        EnrollmentOrder.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
