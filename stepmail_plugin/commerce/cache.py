"""Catalogue data kept between the batches of one worker for a short time.

Every batch of product mails needs the same few things about the shop: the products it shows
(prices, stock, pictures, links), Oscar's recommendations, categories and best sellers. Loading
them for each batch of 100 mails cost more queries than the mails themselves, although they change
far less often than mail goes out. So a worker keeps them between batches:

* for at most ``STEPMAIL["CATALOGUE_CACHE_SECONDS"]`` (60; 0 turns the cache off);
* until a product, stock record, product picture, recommendation or category changes: saving or
  deleting one (Oscar's checkout too, which announces every stock change with ``post_save``) clears
  the copy in this process at once, and in every other process through a generation stamp in
  Django's cache (``STEPMAIL["LIVE_CACHE_ALIAS"]``) when that cache is shared (Redis, Memcached, the
  database); with a per-process cache other workers see it within the time limit;
* only for real sends, and never inside a transaction (what it reads may still be rolled back):
  previews and test sends always read the shop as it is.

What each customer bought and which products they get is still worked out per batch; only the
shop's side is kept.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import caches
from django.db import connection

from ..conf import stepmail_settings

T = TypeVar("T")

GENERATION_KEY = "stepmail:catalogue:generation"

_store: dict[str, Any] = {}
_state: dict[str, Any] = {"generation": None, "loaded_at": 0.0}


def _cache():
    return caches[stepmail_settings.LIVE_CACHE_ALIAS]


def _generation() -> Any:
    try:
        return _cache().get(GENERATION_KEY)
    except Exception:  # a cache outage: rely on the time limit
        return _state["generation"]


def _fresh_store(batch: Any) -> dict[str, Any]:
    """The kept data, emptied first if it is too old or something changed (checked once per batch)."""
    now = time.monotonic()
    generation = _generation()
    if generation != _state["generation"] or now - _state["loaded_at"] >= stepmail_settings.CATALOGUE_CACHE_SECONDS:
        _store.clear()
        _state["generation"] = generation
        _state["loaded_at"] = now
    return _store


def usable(batch: Any) -> bool:
    """Whether this batch may use kept data: a real send, outside a transaction, cache on."""
    from ..rendering.batch import Mode

    return (
        batch.mode == Mode.SEND
        and bool(stepmail_settings.CATALOGUE_CACHE_SECONDS)
        and not connection.in_atomic_block
    )


def kept(batch: Any, name: str, factory: Callable[[Any], T]) -> T:
    """``batch.shared(name, factory)``, kept for the next batches too when :func:`usable`."""
    found = batch.shared_get(name)
    if found is not None:  # called for every mail: the batch's own copy first
        return found
    if not usable(batch):
        return batch.shared(name, factory)

    def load(b: Any) -> T:
        store = b.shared("_catalogue_store", _fresh_store)
        if name not in store:
            store[name] = factory(b)
        return store[name]

    return batch.shared(name, load)


def forget(**kwargs: Any) -> None:
    """Drop the kept data here and, through the generation stamp, in other processes. A signal
    receiver (takes any signal arguments)."""
    _store.clear()
    _state["loaded_at"] = 0.0
    try:
        _cache().set(GENERATION_KEY, uuid.uuid4().hex, None)
    except Exception:  # a cache outage must not break saving a product
        pass


def connect() -> None:
    """Receivers for the catalogue changes that affect what mails show (from AppConfig.ready)."""
    from django.db.models.signals import post_delete, post_save
    from oscar.core.loading import get_model

    for app, name in (
        ("catalogue", "Product"),
        ("catalogue", "ProductImage"),
        ("catalogue", "ProductRecommendation"),
        ("catalogue", "ProductCategory"),
        ("catalogue", "Category"),
        ("partner", "StockRecord"),
    ):
        model = get_model(app, name)
        post_save.connect(forget, sender=model, dispatch_uid=f"stepmail.catalogue.save.{name}")
        post_delete.connect(forget, sender=model, dispatch_uid=f"stepmail.catalogue.delete.{name}")
    from ..triggers.purchases import forget_usage_attribute

    attribute = get_model("catalogue", "ProductAttribute")
    post_save.connect(forget_usage_attribute, sender=attribute, dispatch_uid="stepmail.catalogue.save.attribute")
    post_delete.connect(forget_usage_attribute, sender=attribute, dispatch_uid="stepmail.catalogue.delete.attribute")
