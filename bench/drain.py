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


def _cluster_cpu(processes: list[subprocess.Popen]) -> float:
    """CPU seconds used so far by every process of the clusters (each runs in its own session,
    whose process group is the cluster's pid): the worker, and q2's sentinel, pusher and monitor."""
    groups = {p.pid for p in processes}
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


def _drain(sequence, steps, enrollments, workers: int, batch_size: int, timeout: float = 600) -> tuple[int, float]:
    """Make every delivery due, queue one dispatch task per worker and wait for the tasks.
    Returns (deliveries left, seconds from queueing to the last task's end).

    The end is the time q2 recorded when the last task stopped (a task ends when nothing due is
    left), so the bench polls only q2's task table, every 0.2 s: polling the deliveries would
    load the database the workers are using.
    """
    from django_q.models import Task
    from django_q.tasks import async_task

    data.make_due(enrollments, steps[0], timezone.now() - timezone.timedelta(minutes=1))
    group = f"stepmail-bench-drain-{workers}-{time.time_ns()}"
    started = timezone.now()
    for _ in range(workers):
        async_task("stepmail_plugin.tasks.dispatch_due", batch_size=batch_size, group=group)
    deadline = time.monotonic() + timeout
    while Task.objects.filter(group=group).count() < workers and time.monotonic() < deadline:
        time.sleep(0.2)
    stopped = [t for t in Task.objects.filter(group=group).values_list("stopped", flat=True) if t]
    elapsed = ((max(stopped) if stopped else timezone.now()) - started).total_seconds()
    return data.scheduled_left([sequence.pk]), elapsed


def run(bench) -> None:
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        bench.note("drain: needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); run the full bench there")
        return
    count = 4000 if bench.quick else 20000
    sequence, steps = data.make_sequence("ドレイン", "order_placed", bench.body, steps=1)
    contacts = data.make_contacts(count, prefix="drain")
    orders = data.make_orders([c.email for c in contacts], bench.products)
    enrollments = data.enroll_due(sequence, steps[0], contacts, orders)
    # A warm-up of a few batches per worker first: each new worker process loads its templates,
    # compiles the step and reads the catalogue once, which is no part of a steady drain.
    warm_sequence, warm_steps = data.make_sequence("ドレイン準備", "order_placed", bench.body, steps=1)
    warm_contacts = data.make_contacts(600, prefix="drainwarm")
    warm = data.enroll_due(warm_sequence, warm_steps[0], warm_contacts,
                           data.make_orders([c.email for c in warm_contacts], bench.products))
    rates = {}
    for workers in (1, 2):
        clusters = _start_clusters(workers)
        try:
            _wait_idle(workers)
            _drain(warm_sequence, warm_steps, warm, workers, bench.batch_size)
            load = os.getloadavg()[0]
            cpu = _cluster_cpu(clusters)
            left, elapsed = _drain(sequence, steps, enrollments, workers, bench.batch_size)
            cpu = _cluster_cpu(clusters) - cpu
        finally:
            _stop(clusters)
        if left:
            bench.note(f"drain: {left} deliveries left after 600 s with {workers} worker(s)")
        rates[workers] = (count - left) / elapsed
        bench.results[f"drain_mails_per_s_{workers}"] = rnd(rates[workers], 1)
        # Cores the clusters kept busy: with 2 workers close to 2 on an idle machine; less when
        # other processes (or the database) take the cores.
        bench.results[f"drain_worker_cores_{workers}"] = rnd(cpu / elapsed, 2)
        bench.results[f"drain_load_average_{workers}"] = rnd(load, 2)
    bench.results["drain_speedup_2_workers"] = rnd(rates[2] / rates[1], 2)
    bench.results["drain_deliveries"] = count
