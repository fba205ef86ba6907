"""Small measuring tools: a query counter, a stopwatch, medians."""

from __future__ import annotations

import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass


class QueryCounter:
    """Counts every statement sent to the database (``connection.execute_wrapper``), savepoints
    included; cheaper than Django's debug cursor, so it can stay on while timing.

    :meth:`everywhere` also counts the statements of connections opened meanwhile by other
    threads (the dispatcher's record writer has a connection of its own)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self._lock:
            self.count += 1
        return execute(sql, params, many, context)

    @contextmanager
    def everywhere(self):
        """Count on this thread's connection and on every connection opened while in the block."""
        from django.db import connection
        from django.db.backends.signals import connection_created

        def attach(sender, connection, **kwargs):
            if self not in connection.execute_wrappers:
                connection.execute_wrappers.append(self)

        connection_created.connect(attach, weak=False)
        try:
            with connection.execute_wrapper(self):
                yield self
        finally:
            connection_created.disconnect(attach)


@dataclass
class Timing:
    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def stopwatch():
    timing = Timing()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield timing
    finally:
        timing.wall = time.perf_counter() - wall
        timing.cpu = time.process_time() - cpu


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rnd(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
