"""Oscar order triggers. The only module (with the order-aware rendering) that knows Oscar orders."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.utils import formats, timezone, translation

from ..enrollment import Person, enroll_safely
from ..rendering.context import register_object_values
from ..tracking.attribution import attribute_order_safely
from .registry import ORDER_PLACED

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
        order_pk = order.pk
        transaction.on_commit(lambda: enroll_order(order_pk))
    except Exception:  # pragma: no cover - defensive: on_commit itself failing
        logger.exception("stepmail: could not queue enrollment for order %s", getattr(order, "pk", None))


def enroll_order(order_pk: int) -> None:
    from oscar.core.loading import get_model

    try:
        Order = get_model("order", "Order")
        order = Order.objects.select_related("user", "billing_address", "shipping_address").get(pk=order_pk)
    except Exception:
        logger.exception("stepmail: order %s not found for enrollment", order_pk)
        return
    enroll_safely(person_for_order(order), ORDER_PLACED.key, obj=order, at=order.date_placed)
    # Credit the order to the mail that earned it, and count it for holdout comparisons.
    attribute_order_safely(order)


def order_values(order: Any, language: str) -> dict[str, Any]:
    """Merge-field values of an order, formatted for the recipient's language."""
    from django.conf import settings

    current = translation.get_language() or language
    return {
        "order_number": order.number,
        "order_total": _money(
            order.total_incl_tax, order.currency, current, repr(getattr(settings, "OSCAR_CURRENCY_FORMAT", None))
        ),
        "order_date": _date(timezone.localtime(order.date_placed).date(), current),
    }


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
    from oscar.apps.order.signals import order_placed

    order_placed.connect(receive_order_placed, dispatch_uid="stepmail.order_placed")
    register_object_values("order.order", order_values)
