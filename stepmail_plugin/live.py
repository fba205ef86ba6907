"""The published sequences of a trigger and their first steps, kept between enrollments.

Every checkout enrolls its customer, and loading the live sequences and their first steps was
most of that work, although the answer only changes when an editor saves, publishes, unpublishes,
moves or deletes a sequence or step page. So each process keeps the answer per trigger, stamped
with a *generation* kept in Django's cache (``STEPMAIL["LIVE_CACHE_ALIAS"]``). Those page events
(and ``migrate``/``flush``) clear the local copy and write a new generation — at once and again when
the transaction commits, so no process keeps what it read before the commit.

* With a cache shared by all processes (Redis, Memcached, the database cache) every process sees
  a change at its next enrollment.
* With a per-process cache (``LocMemCache``) other processes see it after
  ``STEPMAIL["LIVE_CACHE_SECONDS"]`` at the latest.
* Inside a transaction (an enrollment that is part of a larger atomic block) the cache is not
  used: what such a transaction reads may still be rolled back.
* ``LIVE_CACHE_SECONDS = 0`` turns the cache off.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.db import connection, transaction

from .conf import stepmail_settings

GENERATION_KEY = "stepmail:live:generation"
_local: dict[str, tuple[Any, float, Any]] = {}


def _cache():
    return caches[stepmail_settings.LIVE_CACHE_ALIAS]


def cached(trigger_key: str, load: Callable[[str], Any]) -> Any:
    """``load(trigger_key)``, or what it returned before if nothing changed since."""
    seconds = stepmail_settings.LIVE_CACHE_SECONDS
    if not seconds or connection.in_atomic_block:
        return load(trigger_key)
    generation = _cache().get(GENERATION_KEY)
    entry = _local.get(trigger_key)
    now = time.monotonic()
    if entry is not None and entry[0] == generation and now - entry[1] < seconds:
        return entry[2]
    value = load(trigger_key)
    _local[trigger_key] = (generation, now, value)
    return value


def stamp() -> Any:
    """The current generation, or None when nothing may be reused now (the cache is off, or
    inside a transaction). Lets other code keep pages for as long as :func:`cached` would."""
    if not stepmail_settings.LIVE_CACHE_SECONDS or connection.in_atomic_block:
        return None
    try:
        return ("generation", _cache().get(GENERATION_KEY))
    except Exception:  # a cache outage: nothing is reused
        return None


def _forget() -> None:
    _local.clear()
    try:
        _cache().set(GENERATION_KEY, uuid.uuid4().hex, None)
    except Exception:  # a cache outage must not break publishing; local copies are gone anyway
        pass


def invalidate(**kwargs: Any) -> None:
    """Forget the cached sequences everywhere: now, and again once the transaction commits.
    A signal receiver (takes any signal arguments)."""
    _forget()
    if connection.in_atomic_block:
        transaction.on_commit(_forget)


def connect() -> None:
    """Receivers for every page event that can change what is live (from AppConfig.ready)."""
    from django.db.models.signals import post_delete, post_migrate, post_save
    from wagtail.signals import page_published, page_unpublished, post_page_move

    from .models import SequencePage, StepEmailPage

    for model in (SequencePage, StepEmailPage):
        name = model.__name__
        post_save.connect(invalidate, sender=model, dispatch_uid=f"stepmail.live.save.{name}")
        post_delete.connect(invalidate, sender=model, dispatch_uid=f"stepmail.live.delete.{name}")
        page_published.connect(invalidate, sender=model, dispatch_uid=f"stepmail.live.publish.{name}")
        page_unpublished.connect(invalidate, sender=model, dispatch_uid=f"stepmail.live.unpublish.{name}")
    # Moving any page moves the sequences and steps below it (their tree paths change).
    post_page_move.connect(invalidate, dispatch_uid="stepmail.live.move")
    # migrate and flush (tests) replace the database under the cache.
    post_migrate.connect(invalidate, dispatch_uid="stepmail.live.migrate")
