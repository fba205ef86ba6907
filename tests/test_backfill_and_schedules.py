"""manage.py stepmail_enroll (back-enrolling) and the django-q2 schedules of the scans."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule, Success
from django_q.scheduler import scheduler

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment

from .builders import make_product, open_basket, sequence_with
from .factories import make_sequence, make_user, place_order

STEPS = [{"subject": "当日", "delay": 0}, {"subject": "7日後", "delay": 7}, {"subject": "30日後", "delay": 30}]


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("stepmail_enroll", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue()


def past_orders(start, *days_ago):
    for n, days in enumerate(days_ago):
        with time_machine.travel(start - timedelta(days=days), tick=False):
            place_order(guest_email=f"past{n}@example.jp")


@pytest.mark.django_db
def test_back_enrolling_past_orders_dry_run_then_for_real_then_again():
    start = timezone.now()
    past_orders(start, 40, 10, 2)  # before the sequence existed
    sequence = make_sequence("購入後フォロー", steps=STEPS)
    assert "2 件中 2 件を参加させる予定" in run(str(sequence.pk), "--since", (start - timedelta(days=20)).date().isoformat(),
                                        "--dry-run")
    assert not Enrollment.objects.exists()
    assert "3 件中 3 件を参加させました" in run(sequence.slug)
    assert "0 件中 0 件を参加させました" in run(sequence.slug)  # idempotent: nobody twice
    assert Enrollment.objects.count() == 3
    dispatch_due()
    # Steps whose moment passed are recorded, not sent late: the 2-day-old order gets day 7 next.
    assert mail.outbox == []
    past = Delivery.objects.filter(status=DeliveryStatus.SKIPPED, reason="backfill_past")
    assert past.count() == 1 + 2 + 3
    assert Enrollment.objects.filter(status="completed").count() == 1  # the 40-day-old order
    with time_machine.travel(start + timedelta(days=5, minutes=1), tick=False):
        dispatch_due()
    assert [(m.to[0], m.subject) for m in mail.outbox] == [("past2@example.jp", "7日後")]


@pytest.mark.django_db
def test_send_past_sends_the_missed_steps_now():
    start = timezone.now()
    past_orders(start, 2)
    sequence = make_sequence("購入後フォロー", steps=STEPS)
    run(str(sequence.pk), "--send-past")
    dispatch_due()
    assert [m.subject for m in mail.outbox] == ["当日"]


@pytest.mark.django_db
def test_back_enrolling_registered_users():
    make_user("old@example.jp")
    welcome = make_sequence("ようこそ", "user_registered", steps=[{"subject": "ようこそ"}])
    make_user("new@example.jp")  # enrolled by the signal already
    assert "1 件中 1 件を参加させました" in run(str(welcome.pk), "--send-past")
    assert sorted(Enrollment.objects.values_list("contact__email", flat=True)) == ["new@example.jp", "old@example.jp"]


@pytest.mark.django_db
def test_scan_triggers_are_not_back_enrolled():
    sequence = sequence_with("かご落ち", "basket_abandoned", [{"subject": "a"}])
    with pytest.raises(CommandError, match="自動で追いつきます"):
        run(str(sequence.pk))
    with pytest.raises(CommandError, match="見つかりません"):
        run("no-such-sequence")


@pytest.mark.django_db
def test_setup_creates_a_schedule_per_scan():
    out = StringIO()
    call_command("stepmail_setup", stdout=out)
    names = dict(Schedule.objects.values_list("name", "func"))
    assert names == {
        "stepmail.dispatch": "stepmail_plugin.tasks.dispatch_due",
        "stepmail.tracking": "stepmail_plugin.tasks.tracking_maintenance",
        "stepmail.vouchers": "stepmail_plugin.tasks.cleanup_vouchers",
        "stepmail.retention": "stepmail_plugin.tasks.prune_delivery_logs",
        "stepmail.scan_baskets": "stepmail_plugin.tasks.scan_baskets",
        "stepmail.scan_browsing": "stepmail_plugin.tasks.scan_browsing",
        "stepmail.scan_dates": "stepmail_plugin.tasks.scan_dates",
        "stepmail.scan_dormant": "stepmail_plugin.tasks.scan_dormant",
    }
    assert Schedule.objects.get(name="stepmail.scan_dormant").minutes == 24 * 60


@pytest.mark.django_db(transaction=True)
def test_the_q2_scheduler_runs_the_basket_scan():
    sequence_with("かご落ち", "basket_abandoned", [{"subject": "お忘れではありませんか?"}], threshold_value=1)
    start = timezone.now()
    open_basket(make_user(), make_product())
    call_command("stepmail_setup", stdout=StringIO())
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        Schedule.objects.update(next_run=timezone.now() - timedelta(seconds=1))
        scheduler()
    assert Success.objects.get(func="stepmail_plugin.tasks.scan_baskets").result["enrolled"] == 1
    assert Enrollment.objects.get().trigger == "basket_abandoned"
