"""Oscar order triggers: order placed, order shipped, and the exits orders cause.

The only module (with ``purchases.py`` and the order-aware rendering) that knows Oscar orders.

* ``order_placed``: Oscar's ``order_placed`` signal; also ends sequences the purchase stops.
* ``order_shipped``: Oscar's ``order_status_changed`` into a shipped status (per sequence, default
  ``SHIPPED_ORDER_STATUSES``) or a shipping event whose type code is in ``SHIPPING_EVENT_CODES``.
* a status in ``CANCELLED_ORDER_STATUSES`` ends the enrollments the order started.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import tzinfo
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.utils import formats, timezone, translation

from ..conf import stepmail_settings
from .. import enrollment as enrollment_module
from ..enrollment import Person, enroll_safely
from ..rendering.context import register_object_values
from .registry import ORDER_PLACED, ORDER_SHIPPED

logger = logging.getLogger(__name__)


def person_for_order(order: Any) -> Person:
    """The customer of an order, registered or guest, with a name from the account or address."""
    user = order.user
    address = order.billing_address or order.shipping_address
    first = (getattr(user, "first_name", "") if user else "") or (address.first_name if address else "")
    last = (getattr(user, "last_name", "") if user else "") or (address.last_name if address else "")
    return Person(email=order.email or "", user=user, first_name=first or "", last_name=last or "")


def receive_order_placed(sender: Any, order: Any, user: Any = None, **kwargs: Any) -> None:
    """Enroll the customer once the order is committed; never raise into the checkout."""
    try:
        transaction.on_commit(lambda: enroll_placed_order(order))
    except Exception:  # pragma: no cover - defensive: on_commit itself failing
        logger.exception("stepmail: could not queue enrollment for order %s", getattr(order, "pk", None))


def _load_order(order_pk: int) -> Any:
    from oscar.core.loading import get_model

    try:
        Order = get_model("order", "Order")
        return Order.objects.select_related("user", "billing_address", "shipping_address").get(pk=order_pk)
    except Exception:
        logger.exception("stepmail: order %s not found for enrollment", order_pk)
        return None


def enroll_placed_order(order: Any) -> None:
    """What checkout pays for: enroll the customer of a just-committed order (the order Oscar
    just made, with its customer and addresses in memory: nothing is read again), and queue the
    rest — exits the purchase causes, attribution — for the next dispatcher tick, in the same
    transaction (see followups.py). Never raises."""
    from .. import followups

    try:
        enrollment_module.enroll(
            person_for_order(order), ORDER_PLACED.key, obj=order, at=order.date_placed,
            also=[followups.row(ORDER_PLACED.key, order.pk)],
        )
    except Exception:
        logger.exception("stepmail: enrollment failed (trigger=%s, obj=%r)", ORDER_PLACED.key, order)
        try:  # the enrollment's transaction rolled back: the follow-up work still has to happen
            followups.queue(ORDER_PLACED.key, order.pk)
        except Exception:
            logger.exception("stepmail: could not queue the follow-up of order %s", getattr(order, "pk", None))


def follow_up_order(order_pk: str) -> None:
    """The tick's share of an order placed at checkout: end the sequences the purchase stops,
    credit it to the mail that earned it, record it for holdout comparisons.

    Raises when that fails, so the follow-up is retried (followups.py); both steps are safe to
    repeat. An order deleted meanwhile leaves nothing to do."""
    from oscar.core.loading import get_model

    from ..tracking.attribution import attribute_order

    # Not _load_order: a database error must fail the attempt, not pass for a deleted order.
    order = (
        get_model("order", "Order").objects.select_related("user", "billing_address", "shipping_address")
        .filter(pk=int(order_pk)).first()
    )
    if order is None:
        return
    exit_for_purchase(order)
    # Credit the order to the mail that earned it, and count it for holdout comparisons.
    attribute_order(order)


def exit_for_purchase(order: Any) -> None:
    """End the customer's sequences this purchase stops."""
    from ..exits import exit_after_purchase
    from .purchases import order_facts

    exit_after_purchase(
        email=(order.email or "").strip().lower(),
        user_id=order.user_id,
        order=order,
        placed_at=order.date_placed,
        product_ids=order_facts(order).product_ids,
    )


def receive_order_status_changed(sender: Any, order: Any, old_status: str = "", new_status: str = "", **kwargs: Any) -> None:
    """Shipped → enroll in ``order_shipped``; cancelled or refunded → end what the order started."""
    try:
        order_pk, at = order.pk, timezone.now()
        transaction.on_commit(lambda: order_status_changed(order_pk, new_status, at))
    except Exception:  # pragma: no cover - defensive
        logger.exception("stepmail: could not queue status change of order %s", getattr(order, "pk", None))


def order_status_changed(order_pk: int, new_status: str, at: Any) -> None:
    if new_status in stepmail_settings.CANCELLED_ORDER_STATUSES:
        from ..exits import exit_for_object

        order = _load_order(order_pk)
        if order is not None:
            try:
                exit_for_object(order, "order_cancelled")
            except Exception:
                logger.exception("stepmail: ending sequences of cancelled order %s failed", order_pk)
        return
    order = _load_order(order_pk)
    if order is not None:
        enroll_safely(person_for_order(order), ORDER_SHIPPED.key, obj=order, at=at, match={"status": new_status})


def receive_shipping_event(sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any) -> None:
    """A shipping event of a type in ``SHIPPING_EVENT_CODES`` counts as shipping the order."""
    if not created or raw:
        return
    try:
        event_pk = instance.pk
        transaction.on_commit(lambda: shipping_event_recorded(event_pk))
    except Exception:  # pragma: no cover - defensive
        logger.exception("stepmail: could not queue shipping event %s", getattr(instance, "pk", None))


def shipping_event_recorded(event_pk: int) -> None:
    from oscar.core.loading import get_model

    event = get_model("order", "ShippingEvent").objects.select_related("event_type").filter(pk=event_pk).first()
    if event is None or event.event_type.code not in stepmail_settings.SHIPPING_EVENT_CODES:
        return
    order = _load_order(event.order_id)
    if order is not None:
        enroll_safely(
            person_for_order(order), ORDER_SHIPPED.key, obj=order, at=event.date_created, match={"shipping_event": True}
        )


def order_values(order: Any, language: str, zone: tzinfo | None = None) -> dict[str, Any]:
    """Merge-field values of an order, formatted for the recipient's language, its date in
    ``zone`` (None: the active time zone).

    Called with ``language`` active (rendering.context.recipient_values makes it so), which
    therefore keys the formatting caches without asking Django for the active language again.
    """
    current = language or translation.get_language()
    return {
        "order_number": order.number,
        "order_total": _money(order.total_incl_tax, order.currency, current, _currency_format()),
        "order_date": _date(timezone.localtime(order.date_placed, zone).date(), current),
    }


#: repr() of OSCAR_CURRENCY_FORMAT, a key of the money cache: read once, not for every mail
#: (unset, reading it raises inside Django's settings); forgotten when the setting changes.
_format: list[str] = []


def _currency_format() -> str:
    if not _format:
        _format.append(repr(getattr(settings, "OSCAR_CURRENCY_FORMAT", None)))
    return _format[0]


@receiver(setting_changed)
def _forget_currency_format(*, setting: str, **kwargs: Any) -> None:
    if setting == "OSCAR_CURRENCY_FORMAT":
        _format.clear()


# Formatting through babel and Django's formats is the slowest part of a mail's merge values;
# a batch has many equal totals and dates.
@lru_cache(maxsize=4096)
def _money(amount: Any, currency_code: str, language: str, currency_format: str) -> str:
    from oscar.templatetags.currency_filters import currency

    return currency(amount, currency_code)


@lru_cache(maxsize=1024)
def _date(day: Any, language: str) -> str:
    return formats.date_format(day, "DATE_FORMAT")
def place_order_for(email: str, *, user: Any = None, at: Any = None) -> Any:
    """Place a real order through Oscar's ``OrderCreator`` for a product in stock (used by
    ``stepmail_simulate_events`` and demos). Returns None when no product has stock."""
    from oscar.apps.partner.strategy import Default
    from oscar.apps.shipping.methods import Free
    from oscar.core.loading import get_class, get_model

    Basket = get_model("basket", "Basket")
    Product = get_model("catalogue", "Product")
    OrderCreator = get_class("order.utils", "OrderCreator")
    OrderTotalCalculator = get_class("checkout.calculators", "OrderTotalCalculator")
    product = Product.objects.filter(stockrecords__isnull=False, structure="standalone").order_by("?").first()
    if product is None:
        return None
    basket = Basket.objects.create()
    basket.strategy = Default()
    basket.add_product(product)
    shipping = Free()
    charge = shipping.calculate(basket)
    total = OrderTotalCalculator().calculate(basket, charge)
    extra = {"date_placed": at} if at is not None else {}
    if user is None:
        extra["guest_email"] = email
    order = OrderCreator().place_order(
        basket=basket, total=total, shipping_method=shipping, shipping_charge=charge, user=user, **extra
    )
    basket.set_as_submitted()
    return order


def connect() -> None:
    from django.db.models.signals import post_save
    from oscar.apps.order.signals import order_placed
    from oscar.apps.order.signals import order_status_changed as status_signal
    from oscar.core.loading import get_model

    from .registry import register

    # fire("order_placed", order) and fire("order_shipped", order) know the customer and anchor.
    register(replace(ORDER_PLACED, person=person_for_order, anchor=lambda order: order.date_placed))
    register(replace(ORDER_SHIPPED, person=person_for_order))
    order_placed.connect(receive_order_placed, dispatch_uid="stepmail.order_placed")
    status_signal.connect(receive_order_status_changed, dispatch_uid="stepmail.order_status_changed")
    post_save.connect(
        receive_shipping_event, sender=get_model("order", "ShippingEvent"), dispatch_uid="stepmail.shipping_event"
    )
    register_object_values("order.order", order_values)
    from .. import followups

    followups.register(ORDER_PLACED.key, follow_up_order)
