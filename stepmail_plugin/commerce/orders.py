"""What the customer ordered (or left in the basket), as plain values for a batch of mails.

:func:`trigger_data` turns each recipient's trigger object — an Oscar order or basket — into an
:class:`OrderData` with its lines and totals, loading all orders and baskets of the batch in a
fixed number of queries. Previews without any order use :func:`built_sample`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .catalogue import Catalogue


@dataclass
class LineData:
    """One line of an order or basket."""

    title: str
    quantity: int
    unit_price: Decimal | None
    line_price: Decimal | None
    #: The product of the line (a variant, for instance a size) and the product a customer browses
    #: (its parent), for pictures, links, reviews and recommendations; None if it was deleted.
    variant_id: int | None = None
    product_id: int | None = None
    image_url: str = ""
    url: str = ""
    #: Unit price without tax: compared with stock record prices for upsell.
    unit_price_excl_tax: Decimal | None = None


@dataclass
class OrderData:
    """An order or a basket, reduced to what mails show."""

    kind: str  # "order", "basket" or "sample"
    number: str
    currency: str
    lines: list[LineData] = field(default_factory=list)
    subtotal: Decimal | None = None
    discount: Decimal | None = None
    shipping: Decimal | None = None
    total: Decimal | None = None
    date: datetime | None = None
    user_id: int | None = None
    email: str = ""
    #: Whether the lines' pictures and links were looked up (see :func:`line_media`).
    media_loaded: bool = False

    @property
    def product_ids(self) -> list[int]:
        """The browsable products of the lines, in line order, without repeats."""
        seen: list[int] = []
        for line in self.lines:
            if line.product_id is not None and line.product_id not in seen:
                seen.append(line.product_id)
        return seen


def _models():
    from oscar.core.loading import get_model

    return get_model("order", "Order"), get_model("basket", "Basket")


def is_order(obj: Any) -> bool:
    Order, _Basket = _models()
    return isinstance(obj, Order)


def is_basket(obj: Any) -> bool:
    _Order, Basket = _models()
    return isinstance(obj, Basket)


def catalogue_for(batch: Any) -> Catalogue:
    """The batch's catalogue; for real sends kept between batches for a short time (cache.py)."""
    from .cache import kept

    return kept(batch, f"catalogue:{batch.base_url}", lambda b: Catalogue(b.base_url))


def trigger_data(batch: Any) -> dict[Any, OrderData]:
    """:class:`OrderData` per recipient key of the batch (only for those with an order/basket)."""
    return batch.shared("trigger_data", _load_trigger_data)


def _load_trigger_data(batch: Any) -> dict[Any, OrderData]:
    from oscar.core.loading import get_model

    Order, Basket = _models()
    catalogue = catalogue_for(batch)
    result: dict[Any, OrderData] = {}
    orders: dict[int, list[Any]] = defaultdict(list)
    baskets: dict[int, list[Any]] = defaultdict(list)
    for recipient in batch.recipients.values():
        if recipient.sample is not None:
            result[recipient.key] = recipient.sample
        elif isinstance(recipient.trigger, Order):
            orders[recipient.trigger.pk].append(recipient)
        elif isinstance(recipient.trigger, Basket):
            baskets[recipient.trigger.pk].append(recipient)

    order_data: dict[int, OrderData] = {}
    if orders:
        discounts, surcharges, lines = _order_rows(list(orders))
        for recipients in orders.values():
            order = recipients[0].trigger
            order_data[order.pk] = OrderData(
                kind="order",
                number=order.number,
                currency=order.currency,
                subtotal=order.total_incl_tax - order.shipping_incl_tax - (surcharges.get(order.pk) or 0),
                discount=discounts.get(order.pk) or None,
                shipping=order.shipping_incl_tax,
                total=order.total_incl_tax,
                date=order.date_placed,
                user_id=order.user_id,
                email=(order.guest_email or "").lower(),
            )
        for order_id, title, quantity, unit, line_price, unit_excl, product_id, parent_id, own, parents in lines:
            order_data[order_id].lines.append(
                LineData(
                    # Oscar's Product.get_title(): a variant without a title has its parent's.
                    title=title or own or (parents if parent_id else "") or "",
                    quantity=quantity,
                    unit_price=unit,
                    line_price=line_price,
                    variant_id=product_id,
                    product_id=(parent_id or product_id) if product_id else None,
                    unit_price_excl_tax=unit_excl,
                )
            )
    if baskets:
        BasketLine = get_model("basket", "Line")
        for recipients in baskets.values():
            basket = recipients[0].trigger
            order_data[-basket.pk] = OrderData(
                kind="basket",
                number=str(basket.pk),
                currency=getattr(settings, "OSCAR_DEFAULT_CURRENCY", ""),
                user_id=basket.owner_id,
            )
        basket_lines = BasketLine.objects.filter(basket_id__in=baskets).select_related("product")
        for line in basket_lines.order_by("basket_id", "pk"):
            product = line.product
            data = order_data[-line.basket_id]
            unit = line.price_incl_tax if line.price_incl_tax is not None else line.price_excl_tax
            if line.price_currency:
                data.currency = line.price_currency
            data.lines.append(
                LineData(
                    title=product.get_title() if product else "",
                    quantity=line.quantity,
                    unit_price=unit,
                    line_price=unit * line.quantity if unit is not None else None,
                    variant_id=line.product_id,
                    product_id=(product.parent_id or product.pk) if product else None,
                    unit_price_excl_tax=line.price_excl_tax,
                )
            )
        for key, data in order_data.items():
            if data.kind == "basket":
                prices = [line.line_price for line in data.lines]
                data.subtotal = sum(prices, Decimal(0)) if prices and None not in prices else None
                data.total = data.subtotal

    for key, recipients in list(orders.items()) + [(-k, v) for k, v in baskets.items()]:
        for recipient in recipients:
            result[recipient.key] = order_data[key]

    # Pictures and links are looked up when a mail shows them (line_media), so these products
    # load together with those other blocks need.
    catalogue.want(
        pid for data in result.values() for line in data.lines for pid in (line.variant_id, line.product_id)
    )
    return result


def _order_rows(ids: list[int]) -> tuple[dict[int, Any], dict[int, Any], list[tuple]]:
    """Discounts and surcharges summed per order (Oscar's basket_total_incl_tax would query them
    per order), and the orders' lines as plain values (a batch has hundreds): two queries, written
    out (rows.py) because compiling them through the ORM cost more than running them."""
    from django.db import connections, router
    from oscar.core.loading import get_model

    from ..rows import among, column, converters_for, fetch, table

    Order, _Basket = _models()
    Line = get_model("order", "Line")
    OrderDiscount = get_model("order", "OrderDiscount")
    Surcharge = get_model("order", "Surcharge")
    Product = get_model("catalogue", "Product")
    using = router.db_for_read(Order)
    c = connections[using]
    discounts_of, discount_ids = among(column(OrderDiscount, "order", c), ids, Order._meta.pk, c)
    surcharges_of, surcharge_ids = among(column(Surcharge, "order", c), ids, Order._meta.pk, c)
    lines_of, line_ids = among(column(Line, "order", c, "l"), ids, Order._meta.pk, c)
    discount_field = OrderDiscount._meta.get_field("amount")
    surcharge_field = Surcharge._meta.get_field("incl_tax")
    sums = fetch(
        f"SELECT {column(OrderDiscount, 'order', c)}, SUM({column(OrderDiscount, 'amount', c)}), 0"
        f" FROM {table(OrderDiscount, c)} WHERE {discounts_of}"
        f" GROUP BY {column(OrderDiscount, 'order', c)}"
        f" UNION ALL SELECT {column(Surcharge, 'order', c)}, SUM({column(Surcharge, 'incl_tax', c)}), 1"
        f" FROM {table(Surcharge, c)} WHERE {surcharges_of}"
        f" GROUP BY {column(Surcharge, 'order', c)}",
        discount_ids + surcharge_ids,
        using=using,
    )
    discounts: dict[int, Any] = {}
    surcharges: dict[int, Any] = {}
    to_discount, to_surcharge = converters_for([discount_field, surcharge_field], c)
    for order_id, total, kind in sums:
        if kind:
            surcharges[order_id] = to_surcharge(total) if to_surcharge and total is not None else total
        else:
            discounts[order_id] = to_discount(total) if to_discount and total is not None else total
    price = converters_for([Line._meta.get_field(name)
                            for name in ("unit_price_incl_tax", "line_price_incl_tax", "unit_price_excl_tax")], c)
    lines = fetch(
        f"SELECT {column(Line, 'order', c, 'l')}, {column(Line, 'title', c, 'l')},"
        f" {column(Line, 'quantity', c, 'l')}, {column(Line, 'unit_price_incl_tax', c, 'l')},"
        f" {column(Line, 'line_price_incl_tax', c, 'l')}, {column(Line, 'unit_price_excl_tax', c, 'l')},"
        f" {column(Line, 'product', c, 'l')}, {column(Product, 'parent', c, 'p')},"
        f" {column(Product, 'title', c, 'p')}, {column(Product, 'title', c, 'pp')}"
        f" FROM {table(Line, c)} l"
        f" LEFT OUTER JOIN {table(Product, c)} p ON {column(Line, 'product', c, 'l')} = {column(Product, Product._meta.pk.name, c, 'p')}"
        f" LEFT OUTER JOIN {table(Product, c)} pp ON {column(Product, 'parent', c, 'p')} = {column(Product, Product._meta.pk.name, c, 'pp')}"
        f" WHERE {lines_of}"
        f" ORDER BY {column(Line, 'order', c, 'l')}, {column(Line, Line._meta.pk.name, c, 'l')}",
        line_ids,
        [None, None, None, *price, None, None, None, None],
        using=using,
    )
    return discounts, surcharges, lines


def line_media(batch: Any, data: OrderData, *, catalogue: Catalogue | None = None) -> None:
    """Fill in the picture and link of each line (once per order or basket and batch).
    ``catalogue``: the batch's :func:`catalogue_for`, when the caller has it already."""
    if data.media_loaded:
        return
    if catalogue is None:
        catalogue = catalogue_for(batch)
    for line in data.lines:
        if line.product_id is None:
            continue
        line.image_url = line.image_url or catalogue.image_url(line.variant_id) or catalogue.image_url(line.product_id)
        line.url = line.url or catalogue.url(line.product_id)
    data.media_loaded = True


def latest_order():
    """The most recent order, for previews with real data."""
    Order, _Basket = _models()
    return Order.objects.order_by("-date_placed", "-pk").select_related("user").first()


def latest_basket():
    """The most recently changed basket with lines, for previews of basket mails."""
    _Order, Basket = _models()
    return Basket.objects.filter(lines__isnull=False).order_by("-pk").distinct().first()


def built_sample(currency: str = "") -> OrderData:
    """An order for previews in a shop without orders: a few real products if there are any."""
    from oscar.core.loading import get_model

    currency = currency or getattr(settings, "OSCAR_DEFAULT_CURRENCY", "") or "JPY"
    Product = get_model("catalogue", "Product")
    lines: list[LineData] = []
    for product in Product.objects.filter(is_public=True, parent__isnull=True).prefetch_related("stockrecords")[:2]:
        record = next(iter(product.stockrecords.all()), None)
        price = record.price if record is not None else None
        lines.append(
            LineData(title=product.get_title(), quantity=1, unit_price=price, line_price=price,
                     variant_id=product.pk, product_id=product.pk, unit_price_excl_tax=price)
        )
    if not lines:
        price = Decimal("4800")
        lines.append(LineData(title=str(_("Sample product")), quantity=1, unit_price=price, line_price=price))
    prices = [line.line_price for line in lines]
    subtotal = sum(prices, Decimal(0)) if None not in prices else None
    return OrderData(
        kind="sample",
        number="100042",
        currency=currency,
        lines=lines,
        subtotal=subtotal,
        shipping=Decimal(0),
        total=subtotal,
    )
