"""Work that can wait a minute, done by the dispatcher's next tick instead of on the spot.

Checkout should pay for enrollment only. What an order also causes but nobody waits for — ending
the sequences the purchase stops, crediting the order to the mail that earned it, recording it for
holdout comparisons — is queued as one :class:`~stepmail_plugin.models.FollowUp` row in the
enrollment's own transaction and handled at the start of the next tick (every minute with
``stepmail_setup``'s schedule, or each ``stepmail_dispatch`` run from cron).

Nothing is lost meanwhile: a queued row survives restarts, and a mail that falls due before its
follow-up ran is still stopped by the purchase check at send time (``gates.py``).

Handlers are registered per kind by the module that knows the objects (``triggers/orders.py`` for
orders) and must be safe to run twice: two workers may both run one before either deletes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import router, transaction

from .models import FollowUp

logger = logging.getLogger(__name__)

Handler = Callable[[str], Any]
_handlers: dict[str, Handler] = {}

#: Follow-ups handled per transaction.
CHUNK = 20


def register(kind: str, handler: Handler) -> None:
    """Handle follow-ups of ``kind`` with ``handler(object_id)``."""
    _handlers[kind] = handler


def row(kind: str, object_id: Any) -> tuple[type[FollowUp], dict[str, Any]]:
    """The row that leaves ``kind`` work on ``object_id`` for the next tick, for
    ``enroll(also=[...])`` to insert with the enrollments (checkout pays no statement of its own)."""
    return FollowUp, {"kind": kind, "object_id": str(object_id)}


def queue(kind: str, object_id: Any) -> None:
    """Leave ``kind`` work on ``object_id`` for the next tick (one INSERT)."""
    from .bulk import insert_rows

    model, values = row(kind, object_id)
    insert_rows(model, [values], using=router.db_for_write(model))


def run_pending(*, deadline: float | None = None, limit: int = 1000) -> int:
    """Handle queued follow-ups, oldest first, until none is left, ``limit`` are done or
    ``time.monotonic()`` passes ``deadline``. Returns how many were handled.

    A handler that fails is logged and its follow-up dropped, as the receiver that ran the work
    directly did: one bad order must not block the queue.
    """
    alias = router.db_for_write(FollowUp)
    if not FollowUp.objects.using(alias).exists():  # the usual tick: no transaction, no lock
        return 0
    done = 0
    while done < limit and (deadline is None or time.monotonic() < deadline):
        with transaction.atomic(using=alias):
            pending = FollowUp.objects.order_by("id")
            if transaction.get_connection(alias).features.has_select_for_update_skip_locked:
                # Another worker's tick takes the next ones instead of waiting or repeating these.
                pending = pending.select_for_update(skip_locked=True)
            rows = list(pending[: min(CHUNK, limit - done)])
            if not rows:
                break
            for row in rows:
                handler = _handlers.get(row.kind)
                if handler is None:
                    logger.warning("stepmail: no handler for follow-up %s; dropped", row)
                    continue
                try:
                    with transaction.atomic(using=alias):
                        handler(row.object_id)
                except Exception:
                    logger.exception("stepmail: follow-up %s failed", row)
            FollowUp.objects.filter(pk__in=[row.pk for row in rows]).delete()
        done += len(rows)
    return done
