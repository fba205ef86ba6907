"""Cross-sell and upsell: which products a mail suggests to each recipient.

Candidates come from the sources an editor picks, in this order of priority:

1. ``handpicked`` — products the editor chose, in their order;
2. ``recommended`` — Oscar's recommended products of the purchased items, highest ranking first;
3. ``upsell`` — products of the same categories as a purchased item that cost more, up to a
   percentage above what the customer paid, the closest price first;
4. ``bestsellers`` — most sold (by quantity, over ``STEPMAIL["BESTSELLER_DAYS"]``) in the
   categories of the purchased items, then in the whole shop.

Every candidate must be public, buyable now according to Oscar's strategy and stock, priced in the
order's currency, and not bought by the customer before (nor in the basket being recovered). When
one is excluded, the next takes its place, so a mail shows fewer products only when every source
is exhausted. Everything is loaded once per batch; nothing here queries per recipient.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Subquery, Sum
from django.db.models.functions import Coalesce

from ..conf import stepmail_settings
from .cache import kept
from .catalogue import Catalogue, ShownProduct
from .orders import OrderData, catalogue_for, trigger_data

HANDPICKED, RECOMMENDED, UPSELL, BESTSELLERS = "handpicked", "recommended", "upsell", "bestsellers"
SOURCE_ORDER = (HANDPICKED, RECOMMENDED, UPSELL, BESTSELLERS)

#: How deep each batch-wide candidate list goes; enough to replace many excluded products.
BESTSELLER_DEPTH = 200
UPSELL_DEPTH = 1000


@dataclass(frozen=True)
class Selection:
    """What an editor asked for in one products block."""

    sources: tuple[str, ...]
    count: int
    handpicked: tuple[int, ...] = ()
    upsell_percent: int = 50


def _get_model(app: str, name: str):
    from oscar.core.loading import get_model

    return get_model(app, name)


def select_products(batch: Any, recipients: list[Any], selection: Selection) -> dict[Any, list[ShownProduct]]:
    """The products to show each recipient, in order, at most ``selection.count`` each."""
    catalogue = catalogue_for(batch)
    orders = trigger_data(batch)
    history = purchase_history(batch)
    wanted = [s for s in SOURCE_ORDER if s in selection.sources]

    # Candidates depend only on what was bought (products, prices paid, currency), and the choice
    # on those and on what to leave out: worked out once per distinct case, not per recipient
    # (a batch's orders are mostly alike).
    shapes: dict[Any, Any] = {}
    ranked_by_shape: dict[Any, list[int]] = {}
    for recipient in recipients:
        data = orders.get(recipient.key)
        shape = shapes[recipient.key] = _shape(data)
        if shape in ranked_by_shape:
            continue
        ranked: list[int] = []
        for source in wanted:
            if source == HANDPICKED:
                ranked += list(selection.handpicked)
            elif source == RECOMMENDED:
                ranked += _recommended_for(batch, data)
            elif source == UPSELL:
                ranked += _upsell_for(batch, data, selection.upsell_percent)
            elif source == BESTSELLERS:
                ranked += _bestsellers_for(batch, data)
        ranked_by_shape[shape] = ranked

    _load_with_parents(catalogue, {pid for ranked in ranked_by_shape.values() for pid in ranked})
    default_currency = getattr(settings, "OSCAR_DEFAULT_CURRENCY", "")
    result: dict[Any, list[ShownProduct]] = {}
    chosen_by_case: dict[tuple[Any, frozenset[int]], list[ShownProduct]] = {}
    for recipient in recipients:
        data = orders.get(recipient.key)
        currency = data.currency if data is not None else default_currency
        excluded = set(history.get(recipient.key, ()))
        if data is not None:
            excluded.update(pid for line in data.lines for pid in (line.product_id, line.variant_id) if pid)
        case = (shapes[recipient.key], frozenset(excluded))
        if case not in chosen_by_case:
            chosen: list[int] = []
            for product_id in ranked_by_shape[case[0]]:
                canonical = catalogue.canonical_id(product_id)
                if canonical is None or canonical in excluded or canonical in chosen:
                    continue
                if not catalogue.is_offerable(canonical, currency):
                    continue
                chosen.append(canonical)
                if len(chosen) >= selection.count:
                    break
            chosen_by_case[case] = [catalogue.shown(pid) for pid in chosen]
        result[recipient.key] = list(chosen_by_case[case])
    return result


def _shape(data: OrderData | None) -> Any:
    """What a recipient's candidates depend on: the currency and each line's products and price."""
    if data is None:
        return None
    return data.currency, tuple((line.product_id, line.variant_id, line.unit_price_excl_tax) for line in data.lines)


def _load_with_parents(catalogue: Catalogue, ids: set[int]) -> None:
    catalogue.load(ids)
    # A variant suggests its parent, which needs its own prices and children loaded.
    catalogue.load({p.parent_id for p in (catalogue.get(i) for i in ids) if p is not None and p.parent_id})


# -- purchase history --------------------------------------------------------------------------
def purchase_history(batch: Any) -> dict[Any, set[int]]:
    """Every product (variant and parent) each recipient ever ordered, by user or address."""
    return batch.shared("purchase_history", _load_history)


def _load_history(batch: Any) -> dict[Any, set[int]]:
    orders = trigger_data(batch)
    by_user: dict[int, list[Any]] = defaultdict(list)
    by_email: dict[str, list[Any]] = defaultdict(list)
    for recipient in batch.recipients.values():
        contact = recipient.contact
        user_id = getattr(contact, "user_id", None)
        data = orders.get(recipient.key)
        if data is not None and data.user_id and data.kind != "sample":
            user_id = user_id or data.user_id
        if user_id:
            by_user[user_id].append(recipient.key)
        email = (getattr(contact, "email", "") or "").lower()
        if email:
            by_email[email].append(recipient.key)
    history: dict[Any, set[int]] = defaultdict(set)
    if not by_user and not by_email:
        return history
    rows = _history_rows(list(by_user), list(by_email))
    for user_id, guest_email, user_email, product_id, parent_id in rows:
        keys = by_user.get(user_id, []) + by_email.get(guest_email or "", []) + by_email.get(user_email or "", [])
        for key in keys:
            history[key].add(product_id)
            if parent_id:
                history[key].add(parent_id)
    return history


def _history_rows(user_ids: list[int], emails: list[str]) -> list[tuple]:
    """(user id, guest address, account address, product, parent) of every order line of these
    customers.

    Oscar keeps a guest's address on the order and a customer's on their account. The orders are
    found first (a subquery) and their lines through the index on order_id: lines outnumber
    orders, and comparing addresses on every line was most of the cost. Written out (rows.py):
    compiling it through the ORM, with its three lists, cost more than running it.
    """
    from django.db import connections, router

    from ..rows import column, fetch, placeholders, table

    Line = _get_model("order", "Line")
    Order = _get_model("order", "Order")
    Product = _get_model("catalogue", "Product")
    User = Order._meta.get_field("user").related_model
    using = router.db_for_read(Order)
    c = connections[using]
    order_pk = column(Order, Order._meta.pk.name, c, "o")
    user_pk = column(User, User._meta.pk.name, c, "u")
    params: list[Any]
    if c.vendor == "postgresql":
        orders, params = _customer_orders_postgresql(Order, User, c, user_ids, emails)
        # The order ids as one array (evaluated once, before the join), so the lines are read
        # through their order_id index. With ``IN (subquery)`` the planner sized the subquery
        # from its branches' estimates (thousands, e.g. when the users table is small) and
        # hashed every order line of the shop: five times slower at 5,000 orders, and growing.
        lines_of = f"= ANY(ARRAY({orders}))"
    else:
        # One index-friendly select per way of finding a customer's orders (an OR across the
        # join would read every order): by account, by guest address, by account address.
        wanted: list[str] = []
        params = []
        if user_ids:
            wanted.append(f"SELECT {column(Order, Order._meta.pk.name, c)} FROM {table(Order, c)}"
                          f" WHERE {column(Order, 'user', c)} IN ({placeholders(user_ids)})")
            params += user_ids
        if emails:
            wanted.append(f"SELECT {column(Order, Order._meta.pk.name, c)} FROM {table(Order, c)}"
                          f" WHERE LOWER({column(Order, 'guest_email', c)}) IN ({placeholders(emails)})")
            wanted.append(f"SELECT {order_pk} FROM {table(Order, c)} o"
                          f" INNER JOIN {table(User, c)} u ON {column(Order, 'user', c, 'o')} = {user_pk}"
                          f" WHERE LOWER({column(User, 'email', c, 'u')}) IN ({placeholders(emails)})")
            params += emails + emails
        lines_of = f"IN ({' UNION '.join(wanted)})"
    return fetch(
        f"SELECT {column(Order, 'user', c, 'o')}, LOWER({column(Order, 'guest_email', c, 'o')}),"
        f" LOWER({column(User, 'email', c, 'u')}), {column(Line, 'product', c, 'l')},"
        f" {column(Product, 'parent', c, 'p')}"
        f" FROM {table(Line, c)} l"
        f" INNER JOIN {table(Order, c)} o ON {column(Line, 'order', c, 'l')} = {order_pk}"
        f" INNER JOIN {table(Product, c)} p ON {column(Line, 'product', c, 'l')} = {column(Product, Product._meta.pk.name, c, 'p')}"
        f" LEFT OUTER JOIN {table(User, c)} u ON {column(Order, 'user', c, 'o')} = {user_pk}"
        f" WHERE {column(Line, 'order', c, 'l')} {lines_of}",
        params,
        using=using,
    )


def _customer_orders_postgresql(Order: Any, User: Any, c: Any, user_ids: list[int],
                                emails: list[str]) -> tuple[str, list[Any]]:
    """PostgreSQL: the ids of these customers' orders (by account, guest address, account
    address) as a ``SELECT``, and its parameters: one array per list.

    Each customer is looked up on its own (``LATERAL``, kept from being merged into a join by
    ``OFFSET 0``), through the index on the account or on the lower-cased address (migration
    0010). Given a list, the planner compares every order's address with every address of the
    batch instead whenever the order table looks small: 2–4 ms per batch at 5,000 orders
    against 0.1 ms for a hundred index probes, and the probes stay as cheap as the shop grows.
    """
    from ..rows import column, db_type, table

    order_id = column(Order, Order._meta.pk.name, c)
    user_type = db_type(Order._meta.get_field("user"), c)
    wanted: list[str] = []
    params: list[Any] = []
    if user_ids:
        wanted.append(
            f"SELECT o.id FROM unnest(%s::{user_type}[]) AS x(v) CROSS JOIN LATERAL"
            f" (SELECT {order_id} AS id FROM {table(Order, c)} WHERE {column(Order, 'user', c)} = x.v OFFSET 0) o"
        )
        params.append(list(user_ids))
    if emails:
        wanted.append(
            f"SELECT o.id FROM unnest(%s::text[]) AS x(v) CROSS JOIN LATERAL"
            f" (SELECT {order_id} AS id FROM {table(Order, c)}"
            f" WHERE LOWER({column(Order, 'guest_email', c)}) = x.v OFFSET 0) o"
        )
        wanted.append(
            f"SELECT o.{order_id} AS id FROM unnest(%s::text[]) AS x(v) CROSS JOIN LATERAL"
            f" (SELECT {column(User, User._meta.pk.name, c)} AS id FROM {table(User, c)}"
            f" WHERE LOWER({column(User, 'email', c)}) = x.v OFFSET 0) u"
            f" INNER JOIN {table(Order, c)} o ON o.{column(Order, 'user', c)} = u.id"
        )
        params += [list(emails), list(emails)]
    return " UNION ".join(wanted), params


# -- Oscar's recommended products --------------------------------------------------------------
def _purchased_ids(batch: Any) -> set[int]:
    """Every product (variant and parent) in the batch's orders and baskets."""
    return batch.shared(
        "purchased_ids",
        lambda b: {
            pid
            for data in trigger_data(b).values()
            for line in data.lines
            for pid in (line.product_id, line.variant_id)
            if pid
        },
    )


def _recommendations(batch: Any) -> dict[int, list[tuple[int, int]]]:
    """Oscar's recommendations of the batch's purchased products (kept between batches: only
    products not seen before are looked up)."""
    known: dict[int, list[tuple[int, int]]] = kept(batch, "recommendations", lambda b: {})

    def load(b: Any) -> dict[int, list[tuple[int, int]]]:
        missing = {i for i in _purchased_ids(b) if i not in known}
        if missing:
            for pid in missing:
                known[pid] = []
            Recommendation = _get_model("catalogue", "ProductRecommendation")
            for primary, recommended, ranking in Recommendation.objects.filter(
                primary_id__in=missing
            ).values_list("primary_id", "recommendation_id", "ranking"):
                known[primary].append((ranking, recommended))
        return known

    return batch.shared("recommendations_loaded", load)


def _recommended_for(batch: Any, data: OrderData | None) -> list[int]:
    if data is None:
        return []
    recommendations = _recommendations(batch)
    ranked: list[tuple[int, int, int]] = []
    for position, line in enumerate(data.lines):
        for pid in {line.product_id, line.variant_id} - {None}:
            for ranking, recommended in recommendations.get(pid, ()):
                ranked.append((-ranking, position, recommended))
    return [recommended for _r, _p, recommended in sorted(ranked)]


# -- categories ----------------------------------------------------------------------------------
def _categories(batch: Any, ids: set[int]) -> dict[int, set[int]]:
    """Categories of products, remembered for the batch (one query per new set of products)."""
    known: dict[int, set[int]] = kept(batch, "categories", lambda b: {})
    missing = {i for i in ids if i not in known}
    if missing:
        ProductCategory = _get_model("catalogue", "ProductCategory")
        for pid in missing:
            known[pid] = set()
        for product_id, category_id in ProductCategory.objects.filter(product_id__in=missing).values_list(
            "product_id", "category_id"
        ):
            known[product_id].add(category_id)
    return known


def _purchased_categories(batch: Any, data: OrderData | None) -> set[int]:
    if data is None:
        return set()
    categories = _categories(batch, _purchased_ids(batch))
    return {c for line in data.lines if line.product_id for c in categories.get(line.product_id, ())}


def _canonical_sales(since, category_ids: set[int] | None) -> list[int]:
    Line = _get_model("order", "Line")
    ProductCategory = _get_model("catalogue", "ProductCategory")
    lines = Line.objects.filter(order__date_placed__gte=since, product__isnull=False).annotate(
        canonical=Coalesce("product__parent_id", "product_id")
    )
    if category_ids is not None:
        in_categories = ProductCategory.objects.filter(category_id__in=category_ids).values("product_id")
        lines = lines.filter(canonical__in=Subquery(in_categories))
    rows = lines.values("canonical").annotate(sold=Sum("quantity")).order_by("-sold", "canonical")
    return [row["canonical"] for row in rows[:BESTSELLER_DEPTH]]


def _bestsellers(batch: Any) -> tuple[list[int], list[int], dict[int, set[int]]]:
    """(best sellers of the batch's categories, of the whole shop, categories of the former)."""

    def load(b: Any) -> tuple[list[int], list[int], dict[int, set[int]]]:
        since = b.now - timedelta(days=stepmail_settings.BESTSELLER_DAYS)
        purchased = _categories(b, _purchased_ids(b))
        category_ids = {c for cats in purchased.values() for c in cats}
        # Sales change slowly: the shop-wide list and each set of categories' list are kept
        # between batches (for CATALOGUE_CACHE_SECONDS at most).
        key = ",".join(str(c) for c in sorted(category_ids))
        in_categories = (
            kept(b, f"bestsellers:{key}", lambda bb: _canonical_sales(since, category_ids)) if category_ids else []
        )
        shop_wide = kept(b, "bestsellers:shop", lambda bb: _canonical_sales(since, None))
        return in_categories, shop_wide, _categories(b, set(in_categories))

    return batch.shared("bestsellers", load)


def _bestsellers_for(batch: Any, data: OrderData | None) -> list[int]:
    in_categories, shop_wide, categories = _bestsellers(batch)
    mine = _purchased_categories(batch, data)
    same_category = [pid for pid in in_categories if categories.get(pid, set()) & mine] if mine else []
    return same_category + [pid for pid in shop_wide if pid not in same_category]


# -- upsell ------------------------------------------------------------------------------------
def _upsell(batch: Any, percent: int) -> tuple[list[tuple[int, Decimal, str]], dict[int, set[int]]]:
    """Candidates (canonical product, lowest price, currency), cheapest first, and their categories."""

    def load(b: Any) -> tuple[list[tuple[int, Decimal, str]], dict[int, set[int]]]:
        purchased = _categories(b, _purchased_ids(b))
        category_ids = {c for cats in purchased.values() for c in cats}
        paid = [
            line.unit_price_excl_tax
            for data in trigger_data(b).values()
            for line in data.lines
            if line.unit_price_excl_tax is not None
        ]
        if not category_ids or not paid:
            return [], {}
        StockRecord = _get_model("partner", "StockRecord")
        ProductCategory = _get_model("catalogue", "ProductCategory")
        in_categories = ProductCategory.objects.filter(category_id__in=category_ids).values("product_id")
        ceiling = max(paid) * (Decimal(100 + percent) / 100)
        rows = (
            StockRecord.objects.filter(price__gt=min(paid), price__lte=ceiling)
            .annotate(canonical=Coalesce("product__parent_id", "product_id"))
            .filter(canonical__in=Subquery(in_categories))
            .order_by("price", "pk")
            .values_list("canonical", "price", "price_currency")[:UPSELL_DEPTH]
        )
        lowest: dict[tuple[int, str], Decimal] = {}
        for canonical, price, currency in rows:
            lowest.setdefault((canonical, currency), price)
        ordered = sorted(((pid, price, cur) for (pid, cur), price in lowest.items()), key=lambda r: (r[1], r[0]))
        return ordered, _categories(b, {pid for pid, _p, _c in ordered})

    return batch.shared(f"upsell:{percent}", load)


def _upsell_for(batch: Any, data: OrderData | None, percent: int) -> list[int]:
    if data is None:
        return []
    candidates, categories = _upsell(batch, percent)
    if not candidates:
        return []
    purchased = _categories(batch, _purchased_ids(batch))
    found: list[tuple[Decimal, int]] = []
    for line in data.lines:
        paid = line.unit_price_excl_tax
        line_categories = purchased.get(line.product_id, set()) if line.product_id else set()
        if paid is None or not line_categories:
            continue
        ceiling = paid * (Decimal(100 + percent) / 100)
        for pid, price, currency in candidates:
            if currency == data.currency and paid < price <= ceiling and categories.get(pid, set()) & line_categories:
                found.append((price, pid))
    return [pid for _price, pid in sorted(found)]
