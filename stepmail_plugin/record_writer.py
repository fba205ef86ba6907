"""Chunk records written in the background on PostgreSQL while the next chunk is rendered.

A chunk's record (:meth:`stepmail_plugin.dispatch.BatchSender.record`) is one statement on
PostgreSQL, and the database's part of it (about 2.5 ms for fifty mails: their rows, the next
steps, the next chunk's move to ``sending``) is time the worker would spend waiting. A thread with
a connection of its own runs the statement while the worker renders the next chunk's mails.
Nothing of that chunk is handed over before the record has committed and said which of its rows
the worker still holds, so the order the guarantees rest on (docs/guarantees.md) is unchanged:
send, record, then the next chunk.

The same thread also moves a batch's first chunk to ``sending`` while that chunk renders (it has
no record before it to carry the move), claims the tick's next batch right after the record that
moves a batch's last chunk, while that chunk renders and is sent
(:class:`stepmail_plugin.dispatch.ClaimAhead`), and writes the last chunk's record while the next
batch loads; the tick collects that record (and discards its batch's send journal) before the
next batch hands anything over, or when it ends (``Tick.settle``).

Used only where it can be: on PostgreSQL, outside a transaction (the thread's connection would
not see uncommitted rows), unless ``STEPMAIL["RECORD_IN_BACKGROUND"]`` is off. The thread and its
connection live for one tick; a worker holds one more database connection meanwhile.

While the thread lives, Python's switch interval is ``STEPMAIL["RECORD_SWITCH_INTERVAL"]`` (1 ms
instead of 5): when the database answers, the thread needs the interpreter back from the worker,
which is busy rendering, and would otherwise wait up to 5 ms for it at each step of a statement,
longer than the database took; the worker then waited for the record in turn.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connections

from .conf import stepmail_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")


class RecordWriter:
    """One background thread with its own connection to database ``alias``."""

    def __init__(self, alias: str):
        self.alias = alias
        self._pool: ThreadPoolExecutor | None = None
        # (the interval set, the one before) while the thread lives and the interval was lowered.
        self._switch: tuple[float, float] | None = None

    @staticmethod
    def usable(connection: Any) -> bool:
        """Whether records on ``connection`` may be written in the background."""
        return (
            connection.vendor == "postgresql"
            and not connection.in_atomic_block
            and bool(stepmail_settings.RECORD_IN_BACKGROUND)
        )

    def submit(self, work: Callable[[], T]) -> Future[T]:
        """Run ``work`` in the thread (started on first use); its result or error in the future."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stepmail-record")
            interval, before = stepmail_settings.RECORD_SWITCH_INTERVAL, sys.getswitchinterval()
            if interval and interval < before:
                sys.setswitchinterval(interval)
                self._switch = (sys.getswitchinterval(), before)
        return self._pool.submit(work)

    def close(self) -> None:
        """Close the thread's connection and stop the thread (after the work given to it)."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        try:
            pool.submit(lambda: connections[self.alias].close()).result()
        except Exception:  # the connection may be broken already; the thread ends either way
            logger.warning("stepmail: closing the record writer's connection failed", exc_info=True)
        finally:
            pool.shutdown(wait=True)
            if self._switch is not None:
                (lowered, before), self._switch = self._switch, None
                if sys.getswitchinterval() == lowered:  # unless someone else changed it since
                    sys.setswitchinterval(before)
