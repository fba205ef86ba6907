"""stepmail_setup creates the django-q2 schedule once; django-q2's scheduler runs the dispatcher."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule, Success
from django_q.scheduler import scheduler

from .factories import make_sequence, place_order


def setup_output():
    out = StringIO()
    call_command("stepmail_setup", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_setup_is_idempotent():
    assert "stepmail.dispatch: 作成しました" in setup_output()
    assert "stepmail.dispatch: 変更なし" in setup_output()
    schedule = Schedule.objects.get(name="stepmail.dispatch")
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "stepmail_plugin.tasks.dispatch_due", Schedule.MINUTES, 1, -1
    )
    schedule.minutes = 5  # an operator's edit is put back
    schedule.save()
    assert "stepmail.dispatch: 更新しました" in setup_output()
    assert Schedule.objects.get(name="stepmail.dispatch").minutes == 1
    tracking = Schedule.objects.get(name="stepmail.tracking")
    assert (tracking.func, tracking.minutes) == ("stepmail_plugin.tasks.tracking_maintenance", 60)


@pytest.mark.django_db(transaction=True)
def test_the_q2_scheduler_runs_the_dispatcher():
    make_sequence(steps=[{"subject": "ありがとう", "delay": 0}])
    place_order(guest_email="guest@example.jp")
    setup_output()
    Schedule.objects.update(next_run=timezone.now() - timedelta(seconds=1))
    scheduler()  # what a qcluster does every few seconds (sync mode in the tests' Q_CLUSTER)
    assert [m.to for m in mail.outbox] == [["guest@example.jp"]]
    task = Success.objects.get(func="stepmail_plugin.tasks.dispatch_due")
    assert task.result["sent"] == 1
    assert Schedule.objects.get(name="stepmail.dispatch").next_run > timezone.now()


@pytest.mark.django_db
def test_stepmail_dispatch_command_runs_one_tick():
    make_sequence(steps=[{"subject": "ありがとう", "delay": 0}])
    place_order(guest_email="guest@example.jp")
    out = StringIO()
    call_command("stepmail_dispatch", "--json", stdout=out)
    assert json.loads(out.getvalue())["sent"] == 1
    out = StringIO()
    call_command("stepmail_dispatch", stdout=out)
    assert out.getvalue().startswith("送信 0、失敗 0")  # in the shop's language
