"""Small measuring tools: a query counter, a stopwatch, medians."""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass


class QueryCounter:
    """Counts every statement sent to the database (``connection.execute_wrapper``), savepoints
    included; cheaper than Django's debug cursor, so it can stay on while timing."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


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
