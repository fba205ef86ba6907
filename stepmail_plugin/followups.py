"""Work that can wait a minute, done by the dispatcher's next tick instead of on the spot.

Checkout should pay for enrollment only. What an order also causes but nobody waits for — ending
the sequences the purchase stops, crediting the order to the mail that earned it, recording it for
holdout comparisons — is queued as one :class:`~stepmail_plugin.models.FollowUp` row in the
enrollment's own transaction and handled at the start of the next tick (every minute with
``stepmail_setup``'s schedule, or each ``stepmail_dispatch`` run from cron).

Nothing is lost meanwhile: a queued row survives restarts, and a mail that falls due before its
follow-up ran is still stopped by the purchase check at send time (``gates.py``).

Handlers are registered per kind by the module that knows the objects (``triggers/orders.py`` for
orders), run in a savepoint, and must raise when the work could not be done (the row is then
retried with a backoff, and after ``FOLLOW_UP_MAX_ATTEMPTS`` kept as failed for staff to see: work
is never silently dropped). They must be safe to run twice: a retry repeats work a failed attempt
may have done before its savepoint rolled back, and two workers may both run one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import router, transaction
from django.utils import timezone

from .conf import stepmail_settings
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


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: ``FOLLOW_UP_RETRY_SECONDS``,
    doubling each time, at most ``RETRY_BACKOFF_MAX_SECONDS``."""
    first = stepmail_settings.FOLLOW_UP_RETRY_SECONDS
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), stepmail_settings.RETRY_BACKOFF_MAX_SECONDS))


def run_pending(*, deadline: float | None = None, limit: int = 1000) -> int:
    """Handle the follow-ups that are due, oldest first, until none is left, ``limit`` are done
    or ``time.monotonic()`` passes ``deadline``. Returns how many were attempted.

    A handler that raises (or a kind without a handler) does not block the others: its row
    counts the attempt, keeps the error and is retried after a backoff; after
    ``FOLLOW_UP_MAX_ATTEMPTS`` attempts it is kept as failed (``failed_at``), shown to staff on
    the dashboard, and no longer retried.
    """
    alias = router.db_for_write(FollowUp)
    now = timezone.now()
    # The usual tick: one indexed EXISTS, no transaction, no lock. Rows retried later and failed
    # rows (due_at NULL) are not due.
    if not FollowUp.objects.using(alias).filter(due_at__lte=now).exists():
        return 0
    done = 0
    while done < limit and (deadline is None or time.monotonic() < deadline):
        with transaction.atomic(using=alias):
            # Rows rescheduled by this run are due after ``now``: not attempted twice in a tick.
            pending = FollowUp.objects.using(alias).filter(due_at__lte=now).order_by("due_at", "id")
            if transaction.get_connection(alias).features.has_select_for_update_skip_locked:
                # Another worker's tick takes the next ones instead of waiting or repeating these.
                pending = pending.select_for_update(skip_locked=True)
            rows = list(pending[: min(CHUNK, limit - done)])
            if not rows:
                break
            finished = []
            for row in rows:
                try:
                    handler = _handlers.get(row.kind)
                    if handler is None:
                        raise LookupError(f"no handler registered for follow-ups of kind {row.kind!r}")
                    with transaction.atomic(using=alias):
                        handler(row.object_id)
                except Exception as error:
                    logger.exception("stepmail: follow-up %s failed (attempt %d)", row, row.attempts + 1)
                    _failed(row, error, alias)
                else:
                    finished.append(row.pk)
            FollowUp.objects.using(alias).filter(pk__in=finished).delete()
        done += len(rows)
    return done


def _failed(row: FollowUp, error: Exception, alias: str) -> None:
    """Count a failed attempt: retry later, or keep the row as failed after the last attempt."""
    now = timezone.now()
    row.attempts += 1
    row.error = f"{type(error).__name__}: {error}"[:2000]
    if row.attempts >= max(stepmail_settings.FOLLOW_UP_MAX_ATTEMPTS, 1):
        row.due_at, row.failed_at = None, now
        logger.error("stepmail: follow-up %s failed %d times; kept as failed", row, row.attempts)
    else:
        row.due_at = now + retry_delay(row.attempts)
    row.save(using=alias, update_fields=["attempts", "error", "due_at", "failed_at"])


def failed() -> Any:
    """Follow-ups that failed every attempt, newest first (for staff: the dashboard)."""
    return FollowUp.objects.filter(failed_at__isnull=False).order_by("-failed_at")


def retry_failed(ids: list[int] | None = None) -> int:
    """Queue failed follow-ups again (all of them, or those with these ``ids``) for the next tick,
    with a fresh count of attempts. Returns how many were queued."""
    rows = FollowUp.objects.filter(failed_at__isnull=False)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(failed_at=None, attempts=0, due_at=timezone.now())
