"""Deliveries drained per second by real django-q2 clusters (``manage.py qcluster`` processes on
the Redis broker, PostgreSQL), with one worker and with two.

Each cluster runs one worker; the clusters are started and idle before the clock starts. Then one
``stepmail_plugin.tasks.dispatch_due`` task per worker is queued, and the clock stops when no due
delivery of the bench's sequence is left unsent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection
from django.utils import timezone

from . import data
from .measure import rnd

ROOT = Path(__file__).resolve().parent.parent


def _start_clusters(count: int) -> list[subprocess.Popen]:
    env = dict(os.environ, BENCH_Q_WORKERS="1", PYTHONPATH=str(ROOT))
    return [
        subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster", "--settings", "bench.settings"],
            cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]


def _wait_idle(count: int, timeout: float = 60) -> None:
    from django_q.conf import Conf
    from django_q.status import Stat

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for stat in Stat.get_all() if stat.status == Conf.IDLE) >= count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{count} q2 cluster(s) did not become idle within {timeout:.0f} s")


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def run(bench) -> None:
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        bench.note("drain: needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); run the full bench there")
        return
    from django_q.tasks import async_task

    count = 1000 if bench.quick else 4000
    sequence, steps = data.make_sequence("ドレイン", "order_placed", bench.body, steps=1)
    contacts = data.make_contacts(count, prefix="drain")
    orders = data.make_orders([c.email for c in contacts], bench.products)
    enrollments = data.enroll_due(sequence, steps[0], contacts, orders)
    rates = {}
    for workers in (1, 2):
        data.make_due(enrollments, steps[0], timezone.now() - timezone.timedelta(minutes=1))
        clusters = _start_clusters(workers)
        try:
            _wait_idle(workers)
            started = time.perf_counter()
            for _ in range(workers):
                async_task("stepmail_plugin.tasks.dispatch_due", batch_size=bench.batch_size)
            deadline = started + 600
            while data.scheduled_left([sequence.pk]) and time.perf_counter() < deadline:
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            left = data.scheduled_left([sequence.pk])
        finally:
            _stop(clusters)
        if left:
            bench.note(f"drain: {left} deliveries left after 600 s with {workers} worker(s)")
        rates[workers] = (count - left) / elapsed
        bench.results[f"drain_mails_per_s_{workers}"] = rnd(rates[workers], 1)
    bench.results["drain_speedup_2_workers"] = rnd(rates[2] / rates[1], 2)
    bench.results["drain_deliveries"] = count
