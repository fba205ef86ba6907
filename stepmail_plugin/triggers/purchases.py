"""What customers bought, read from Oscar's orders for targeting, exits and refill reminders.

The only place (with the trigger modules) that queries Oscar's order and catalogue tables; the
core asks through these functions and gets plain values back. Every function runs a fixed number
of queries, however many contacts or orders it covers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower
from oscar.core.loading import get_model

from ..conf import stepmail_settings


@dataclass
class OrderFacts:
    """Plain facts about one order."""

    id: int
    placed: datetime
    total: Decimal
    status: str
    user_id: int | None = None
    email: str = ""
    #: Products of its lines, with their parent products (a filter may name either).
    product_ids: set[int] = field(default_factory=set)


def _orders():
    return get_model("order", "Order")._default_manager


def _lines():
    return get_model("order", "Line")._default_manager


def _contact_condition(contacts: Iterable[Any]) -> Q | None:
    user_ids = {c.user_id for c in contacts if getattr(c, "user_id", None)}
    emails = {c.email for c in contacts if c.email}
    condition = Q()
    if user_ids:
        condition |= Q(user_id__in=user_ids)
    if emails:
        condition |= Q(_guest_email__in=emails) | Q(_user_email__in=emails)
    return condition or None


def _load(contacts: list[Any], *, since: datetime | None = None, before: datetime | None = None,
          with_products: bool = False, exclude_cancelled: bool = True) -> list[OrderFacts]:
    condition = _contact_condition(contacts)
    if condition is None:
        return []
    orders = _orders().annotate(_guest_email=Lower("guest_email"), _user_email=Lower("user__email")).filter(condition)
    if since is not None:
        orders = orders.filter(date_placed__gte=since)
    if before is not None:
        orders = orders.filter(date_placed__lt=before)
    if exclude_cancelled and stepmail_settings.CANCELLED_ORDER_STATUSES:
        orders = orders.exclude(status__in=list(stepmail_settings.CANCELLED_ORDER_STATUSES))
    facts = [
        OrderFacts(pk, placed, total or Decimal(0), status or "", user_id, guest_email or user_email or "")
        for pk, placed, total, status, user_id, guest_email, user_email in orders.order_by("date_placed", "pk").values_list(
            "pk", "date_placed", "total_incl_tax", "status", "user_id", "_guest_email", "_user_email"
        )
    ]
    if with_products and facts:
        by_id = {f.id: f for f in facts}
        for order_id, product_id, parent_id in _lines().filter(order_id__in=list(by_id)).values_list(
            "order_id", "product_id", "product__parent_id"
        ):
            by_id[order_id].product_ids.update(p for p in (product_id, parent_id) if p)
    return facts


def _belongs(order: OrderFacts, contact: Any) -> bool:
    return bool(
        (getattr(contact, "user_id", None) and order.user_id == contact.user_id) or order.email == contact.email
    )


class PurchaseIndex:
    """The orders of many contacts since a moment, loaded in one or two queries."""

    def __init__(self, contacts: Iterable[Any], since: datetime, *, with_products: bool = False):
        contacts = list(contacts)
        self._by_user: dict[int, list[OrderFacts]] = defaultdict(list)
        self._by_email: dict[str, list[OrderFacts]] = defaultdict(list)
        for order in _load(contacts, since=since, with_products=with_products):
            if order.user_id:
                self._by_user[order.user_id].append(order)
            if order.email:
                self._by_email[order.email].append(order)

    def orders_of(self, contact: Any) -> list[OrderFacts]:
        found = {o.id: o for o in self._by_email.get(contact.email, ())}
        if getattr(contact, "user_id", None):
            found.update({o.id: o for o in self._by_user.get(contact.user_id, ())})
        return sorted(found.values(), key=lambda o: (o.placed, o.id))

    def bought_since(self, contact: Any, since: datetime, *, exclude_order_id: Any = None,
                     products: set[int] | None = None) -> bool:
        """Whether ``contact`` ordered after ``since`` (other than ``exclude_order_id``); with
        ``products``, only orders holding one of them count."""
        exclude = str(exclude_order_id) if exclude_order_id not in (None, "") else None
        for order in self.orders_of(contact):
            if order.placed <= since or (exclude is not None and str(order.id) == exclude):
                continue
            if products is None or order.product_ids & products:
                return True
        return False


def customer_orders(contact: Any, *, before: datetime | None = None, with_products: bool = False) -> list[OrderFacts]:
    """Every (not cancelled) order of ``contact``, oldest first."""
    return [o for o in _load([contact], before=before, with_products=with_products) if _belongs(o, contact)]


def order_facts(order: Any) -> OrderFacts:
    """Facts of one order, with its products."""
    facts = OrderFacts(order.pk, order.date_placed, order.total_incl_tax or Decimal(0), order.status or "",
                       order.user_id, (order.guest_email or "").lower())
    for product_id, parent_id in _lines().filter(order_id=order.pk).values_list("product_id", "product__parent_id"):
        facts.product_ids.update(p for p in (product_id, parent_id) if p)
    return facts


def category_paths_of(product_ids: Iterable[int]) -> set[str]:
    """Tree paths of the categories the products are in (one query)."""
    product_ids = list(product_ids)
    if not product_ids:
        return set()
    ProductCategory = get_model("catalogue", "ProductCategory")
    return set(
        ProductCategory._default_manager.filter(product_id__in=product_ids).values_list("category__path", flat=True)
    )


def category_paths(category_ids: Iterable[int]) -> dict[int, str]:
    """Tree path of each category (one query); a path's subcategories' paths start with it."""
    category_ids = list(category_ids)
    if not category_ids:
        return {}
    Category = get_model("catalogue", "Category")
    return dict(Category._default_manager.filter(pk__in=category_ids).values_list("pk", "path"))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def supply_days(order: Any) -> int | None:
    """How many days the order's consumables last: the first to run out, usage days × quantity.

    Usage days come from the product attribute ``USAGE_DAYS_ATTRIBUTE`` (on the product or its
    parent). None when no line has it.
    """
    code = stepmail_settings.USAGE_DAYS_ATTRIBUTE
    if not code or not usage_attribute_exists(code):
        return None
    lines = list(_lines().filter(order_id=order.pk).values_list("product_id", "product__parent_id", "quantity"))
    ids = {p for line in lines for p in line[:2] if p}
    if not ids:
        return None
    Value = get_model("catalogue", "ProductAttributeValue")
    usage: dict[int, float] = {}
    for product_id, integer, number, text in Value._default_manager.filter(
        product_id__in=ids, attribute__code=code
    ).values_list("product_id", "value_integer", "value_float", "value_text"):
        days = _number(integer if integer is not None else number if number is not None else text)
        if days:
            usage[product_id] = days
    supplies = []
    for product_id, parent_id, quantity in lines:
        days = usage.get(product_id) or usage.get(parent_id)
        if days:
            supplies.append(int(days * max(quantity or 1, 1)))
    return min(supplies) if supplies else None


_usage_attribute: dict[str, tuple[float, bool]] = {}


def usage_attribute_exists(code: str) -> bool:
    """Whether the catalogue has the usage-days attribute at all (most shops do not: then every
    order skips looking up its lines). Remembered for ``CATALOGUE_CACHE_SECONDS``; saving or
    deleting a product attribute forgets it (commerce/cache.py). Unlike other caches it is used
    inside transactions too: a wrong "yes" only costs the lookup it would have saved."""
    import time

    seconds = stepmail_settings.CATALOGUE_CACHE_SECONDS
    use_cache = bool(seconds)
    now = time.monotonic()
    if use_cache:
        found = _usage_attribute.get(code)
        if found is not None and now - found[0] < seconds:
            return found[1]
    exists = get_model("catalogue", "ProductAttribute")._default_manager.filter(code=code).exists()
    if use_cache:
        _usage_attribute[code] = (now, exists)
    return exists


def forget_usage_attribute(**kwargs: Any) -> None:
    """Signal receiver: the catalogue's attributes changed."""
    _usage_attribute.clear()
