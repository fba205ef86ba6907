"""The cluster was down for 3 days; it comes back with django-q2's schedule catch-up on (the
default), which replays every missed minute as another dispatch task. Each due step goes out
once and in order; the replays find nothing left to do.
(A task queue in this field replayed missed schedules as duplicate emails.)"""

import io
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule, Success
from django_q.scheduler import scheduler

from stepmail_plugin.models import Delivery, DeliveryStatus

from .conftest import ROOT, make_due, postgres_only, report

STEPS = [
    {"subject": "購入当日", "delay": 0},
    {"subject": "1日後", "delay": 1},
    {"subject": "2日後", "delay": 2},
    {"subject": "5日後", "delay": 5},
]
ORDER = [step["subject"] for step in STEPS]
DOWN = timedelta(days=3)


def three_days_of_enrollments():
    """Customers who ordered before and during the downtime (the shop kept taking orders)."""
    now = timezone.now()
    sequence = make_due(20, steps=STEPS, anchor=now - DOWN - timedelta(minutes=5), prefix="before")
    make_due(20, anchor=now - timedelta(days=2, hours=1), prefix="day1", sequence=sequence)
    make_due(20, anchor=now - timedelta(days=1, hours=1), prefix="day2", sequence=sequence)
    make_due(20, anchor=now - timedelta(hours=1), prefix="today", sequence=sequence)
    # Due by now: 3 + 3 + 2 + 1 steps per group of 20.
    return 20 * (3 + 3 + 2 + 1)


def schedule_overdue_since(down_since):
    call_command("stepmail_setup", stdout=io.StringIO())
    Schedule.objects.filter(name="stepmail.dispatch").update(next_run=down_since)


def check_once_and_in_order(esp, due):
    sent = esp.lines()
    by_contact = defaultdict(list)
    for line in sent:
        by_contact[line[2]].append(line[5])
    counts = {
        "due_steps": due,
        "sent": len(sent),
        "duplicates": len(sent) - len({line[1] for line in sent}),
        "lost": due - len({line[1] for line in sent}),
    }
    assert counts["duplicates"] == 0
    assert counts["lost"] == 0
    for subjects in by_contact.values():
        assert subjects == ORDER[: len(subjects)], "steps went out in order, none skipped"
    assert not [line for line in sent if line[5] == "5日後"], "nothing before it is due"
    return counts


@pytest.mark.django_db(transaction=True)
def test_three_days_down_then_catch_up_replays_send_each_due_step_once(esp):
    due = three_days_of_enrollments()
    schedule_overdue_since(timezone.now() - DOWN)

    replays = 30
    for _ in range(replays):
        scheduler()  # what a qcluster does on its guard cycle; each call replays one missed minute

    counts = check_once_and_in_order(esp, due)
    results = [task.result for task in Success.objects.filter(func="stepmail_plugin.tasks.dispatch_due")]
    working = [r for r in results if r["sent"]]
    report("3 days down, q2 catch-up replays (in-process)", **counts, replays=len(results),
           replays_that_sent=len(working))
    assert len(results) == replays
    assert len(working) == 1 and working[0]["sent"] == due
    assert Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).count() == 80  # the next steps
    # Still catching up: another 3 days' worth of harmless replays would follow.
    assert Schedule.objects.get(name="stepmail.dispatch").next_run < timezone.now()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_catch_up_replays_on_a_real_cluster_run_concurrently_without_duplicates(esp, worker_env):
    """The same with a real qcluster of two workers on the configured broker (Redis when
    REDIS_URL is set): the replays run at the same time, in different processes."""
    due = three_days_of_enrollments()
    schedule_overdue_since(timezone.now() - DOWN)
    replays = 20
    # Small batches and a slowish ESP, so the replays overlap and share the work.
    env = worker_env({"BATCH_SIZE": 20}, q_cluster={"workers": 2, "scheduler": False, "timeout": 60, "retry": 120},
                     delay=0.02)

    cluster = subprocess.Popen([sys.executable, "-m", "django", "qcluster"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        driver = subprocess.run(
            [sys.executable, "-m", "django", "shell", "-c",
             "from django_q.brokers import get_broker\n"
             "from django_q.scheduler import scheduler\n"
             "broker = get_broker(); broker.purge_queue()\n"
             f"for _ in range({replays}): scheduler(broker)\n"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        assert driver.returncode == 0, driver.stderr
        deadline = time.monotonic() + 180
        while Success.objects.filter(func="stepmail_plugin.tasks.dispatch_due").count() < replays:
            assert cluster.poll() is None, cluster.communicate()[1]
            assert time.monotonic() < deadline, "the cluster did not run the replays"
            time.sleep(0.2)
    finally:
        cluster.terminate()
        cluster.communicate(timeout=60)

    counts = check_once_and_in_order(esp, due)
    results = [task.result for task in Success.objects.filter(func="stepmail_plugin.tasks.dispatch_due")]
    pids = {line[3] for line in esp.lines()}
    from django.conf import settings

    broker = "redis" if "redis" in settings.Q_CLUSTER else "orm"
    report(f"3 days down, q2 catch-up replays on a 2-worker cluster ({broker} broker)", **counts,
           replays=len(results), replays_that_sent=sum(1 for r in results if r["sent"]),
           sending_processes=len(pids))
    assert sum(r["sent"] for r in results) == due
