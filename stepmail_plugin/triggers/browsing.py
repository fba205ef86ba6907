"""Browse abandonment: signed-in customers who looked at products and did not buy them.

Oscar's ``product_viewed`` signal records the view (:class:`~stepmail_plugin.models.ProductView`,
at most once per user and product per ``BROWSE_DEBOUNCE_SECONDS``, only while a
``product_browsed`` sequence is live). A django-q2 schedule runs :func:`scan_browsing`
(``stepmail.scan_browsing``): a customer whose last view is older than the sequence's threshold
(default ``BROWSE_WAIT_HOURS``) enters with the viewed products they have not bought since; the
mail can list them. One enrollment per browsing spell; any order ends it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone
from oscar.core.loading import get_model

from ..conf import stepmail_settings
from ..models import ProductView, SequencePage
from .baskets import product_item
from .registry import PRODUCT_BROWSED
from .scans import enroll_quietly, enrolled_keys, live_sequences, lookback, now, threshold, user_consent

logger = logging.getLogger(__name__)

LIVE_CACHE_KEY = "stepmail:browse-sequences-live"


def _browse_sequences_live() -> bool:
    # Checked on every product page view: cached so it costs no query most of the time.
    live = cache.get(LIVE_CACHE_KEY)
    if live is None:
        live = SequencePage.objects.live().filter(trigger=PRODUCT_BROWSED.key).exists()
        cache.set(LIVE_CACHE_KEY, live, 300)
    return live


def receive_product_viewed(sender: Any, product: Any, user: Any = None, **kwargs: Any) -> None:
    """Record a signed-in customer's view; never raises into the product page."""
    try:
        if not (user is not None and user.is_authenticated and getattr(user, "email", "")):
            return
        if not _browse_sequences_live():
            return
        debounce = stepmail_settings.BROWSE_DEBOUNCE_SECONDS
        if debounce and not cache.add(f"stepmail:viewed:{user.pk}:{product.pk}", 1, debounce):
            return
        ProductView.objects.update_or_create(user=user, product=product, defaults={"viewed_at": timezone.now()})
    except Exception:
        logger.exception("stepmail: could not record a product view")


def _bought_after(user_ids: set[int], since) -> dict[int, list[tuple[set[int], Any]]]:
    """Per user: (products of a line, order time) for orders since ``since`` (one query)."""
    Line = get_model("order", "Line")
    bought: dict[int, list[tuple[set[int], Any]]] = defaultdict(list)
    cancelled = list(stepmail_settings.CANCELLED_ORDER_STATUSES)
    for user_id, product_id, parent_id, placed in (
        Line._default_manager.filter(order__user_id__in=user_ids, order__date_placed__gte=since)
        .exclude(order__status__in=cancelled)
        .values_list("order__user_id", "product_id", "product__parent_id", "order__date_placed")
    ):
        bought[user_id].append(({p for p in (product_id, parent_id) if p}, placed))
    return bought


def scan_browsing() -> dict[str, int]:
    """Enroll customers whose viewed products stayed unbought past each sequence's threshold."""
    Product = get_model("catalogue", "Product")
    User = ProductView._meta.get_field("user").related_model
    moment = now()
    report = {"sequences": 0, "enrolled": 0}
    default = timedelta(hours=stepmail_settings.BROWSE_WAIT_HOURS)
    for sequence in live_sequences(PRODUCT_BROWSED.key):
        report["sequences"] += 1
        wait = threshold(sequence, default)
        cutoff = moment - wait
        oldest = cutoff - lookback()
        idle = dict(
            ProductView.objects.values("user_id")
            .annotate(last=Max("viewed_at"))
            .filter(last__lte=cutoff, last__gt=oldest)
            .values_list("user_id", "last")
        )
        if not idle:
            continue
        keys = {user_id: f"browse:{user_id}:{int(last.timestamp())}" for user_id, last in idle.items()}
        done = enrolled_keys(sequence, keys.values())
        todo = {u for u in idle if keys[u] not in done}
        if not todo:
            continue
        views: dict[int, list[tuple[int, Any]]] = defaultdict(list)
        for user_id, product_id, viewed_at in ProductView.objects.filter(
            user_id__in=todo, viewed_at__gt=oldest
        ).order_by("-viewed_at").values_list("user_id", "product_id", "viewed_at"):
            views[user_id].append((product_id, viewed_at))
        bought = _bought_after(todo, oldest)
        wanted: dict[int, list[int]] = {}
        for user_id in todo:
            unbought = [
                product_id for product_id, viewed_at in views[user_id]
                if not any(product_id in products and placed >= viewed_at for products, placed in bought[user_id])
            ]
            if unbought:
                wanted[user_id] = unbought
        products = Product._default_manager.in_bulk({p for ids in wanted.values() for p in ids})
        users = User._default_manager.in_bulk(list(wanted))
        for user_id, product_ids in wanted.items():
            user = users.get(user_id)
            if user is None or not user.email:
                continue
            items = [product_item(products[p]) for p in product_ids if p in products]
            report["enrolled"] += enroll_quietly(
                user,
                PRODUCT_BROWSED.key,
                at=idle[user_id] + wait,
                key=keys[user_id],
                context={"_items": items},
                match={"sequence_ids": [sequence.pk]},
                consent_source=user_consent(),
            )
    return report


def _forget_live_flag(sender: Any, instance: Any = None, **kwargs: Any) -> None:
    if isinstance(instance, SequencePage):
        cache.delete(LIVE_CACHE_KEY)


def connect() -> None:
    from oscar.apps.catalogue.signals import product_viewed
    from wagtail.signals import page_published, page_unpublished

    product_viewed.connect(receive_product_viewed, dispatch_uid="stepmail.product_viewed")
    page_published.connect(_forget_live_flag, dispatch_uid="stepmail.browse_live_published")
    page_unpublished.connect(_forget_live_flag, dispatch_uid="stepmail.browse_live_unpublished")
