"""Send windows, the frequency cap and catch-up after downtime, through the real dispatcher."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import ConsentStatus, Contact, Delivery, DeliveryStatus, Enrollment
from stepmail_plugin.triggers.dates import scan_dates

from .builders import make_product, order_of, sequence_with, with_rules
from .factories import make_sequence, make_user, run_follow_ups

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.mark.django_db
def test_an_order_at_night_gets_its_thank_you_when_the_window_opens():
    with_rules(make_sequence(steps=[{"subject": "ありがとうございます", "delay": 0}]),
               window_start=time(9), window_end=time(21))
    night = datetime(2026, 5, 11, 23, 30, tzinfo=TOKYO)
    with at(night):
        order_of(make_product(), guest_email="owl@example.jp")
        assert dispatch_due().sent == 0
    assert Delivery.objects.get().due_at == datetime(2026, 5, 12, 9, 0, tzinfo=TOKYO)
    with at(datetime(2026, 5, 12, 9, 0, 30, tzinfo=TOKYO)):
        assert dispatch_due().sent == 1


@pytest.mark.django_db
def test_the_window_is_in_each_customers_own_time_zone():
    with_rules(make_sequence(steps=[{"subject": "ありがとう", "delay": 0}]), window_start=time(9), window_end=time(21))
    Contact.objects.create(email="ny@example.com", timezone="America/New_York")
    moment = datetime(2026, 5, 12, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo, 21:00 the day before in New York
    with at(moment):
        order_of(make_product(), guest_email="tokyo@example.jp")
        order_of(make_product(), guest_email="ny@example.com")
        dispatch_due()
    assert [m.to for m in mail.outbox] == [["tokyo@example.jp"]]
    assert Delivery.objects.get(enrollment__contact__email="ny@example.com").due_at == datetime(
        2026, 5, 12, 9, 0, tzinfo=NEW_YORK
    )


@pytest.mark.django_db
def test_a_mail_that_became_due_in_the_window_but_was_sent_late_waits_for_the_next_window():
    with_rules(make_sequence(steps=[{"subject": "ありがとう", "delay": 0}]), window_start=time(9), window_end=time(21),
               window_weekdays="0,1,2,3,4")
    with at(datetime(2026, 5, 15, 20, 50, tzinfo=TOKYO)):  # Friday 20:50
        order_of(make_product(), guest_email="late@example.jp")
    with at(datetime(2026, 5, 15, 22, 0, tzinfo=TOKYO)):  # the dispatcher was down for an hour
        result = dispatch_due()
    assert (result.sent, result.delayed) == (0, 1)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason, delivery.attempts) == (DeliveryStatus.SCHEDULED, "send_window", 0)
    assert delivery.due_at == datetime(2026, 5, 18, 9, 0, tzinfo=TOKYO)  # Monday morning


def two_marketing_sequences(priority_welcome=50, priority_order=50):
    welcome = with_rules(make_sequence("ようこそ", "user_registered", steps=[{"subject": "ようこそ", "delay": 0}]),
                         priority=priority_welcome)
    follow = with_rules(make_sequence("購入御礼", steps=[{"subject": "ご購入ありがとう", "delay": 0}]),
                        priority=priority_order)
    return welcome, follow


@pytest.mark.django_db
def test_the_frequency_cap_delays_a_mail_and_never_drops_it(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "FREQUENCY_CAPS": [(1, 24)]}
    two_marketing_sequences()
    start = timezone.now()
    with at(start):
        user = make_user()
        order_of(make_product(), user=user)
        result = dispatch_due()
    assert (result.sent, result.delayed, result.skipped) == (1, 1, 0)
    waiting = Delivery.objects.get(status=DeliveryStatus.SCHEDULED)
    assert waiting.reason == "frequency_cap"
    assert waiting.due_at == start + timedelta(hours=24)
    with at(start + timedelta(hours=23)):
        assert dispatch_due().sent == 0
    with at(start + timedelta(hours=24, minutes=2)):
        assert dispatch_due().sent == 1
    assert len(mail.outbox) == 2
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 2


@pytest.mark.django_db
def test_the_higher_priority_sequence_goes_first_under_the_cap(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "FREQUENCY_CAPS": [(1, 24)]}
    two_marketing_sequences(priority_welcome=10, priority_order=90)
    user = make_user()  # the welcome mail is due first…
    order_of(make_product(), user=user)  # …but the order follow-up matters more
    dispatch_due()
    assert [m.subject for m in mail.outbox] == ["ご購入ありがとう"]


@pytest.mark.django_db
def test_a_higher_priority_mail_waiting_outside_the_batch_still_goes_first(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "FREQUENCY_CAPS": [(1, 24)]}
    two_marketing_sequences(priority_welcome=10, priority_order=90)
    user = make_user()
    order_of(make_product(), user=user)
    dispatch_due(batch_size=1)  # the low-priority welcome mail is claimed alone first
    assert [m.subject for m in mail.outbox] == ["ご購入ありがとう"]
    assert Delivery.objects.get(step__title="ようこそ").reason == "frequency_cap"


@pytest.mark.django_db
def test_transactional_mail_is_neither_capped_nor_counted(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "FREQUENCY_CAPS": [(1, 24)]}
    make_sequence("発送のお知らせ", steps=[{"subject": "使い方", "delay": 0}], kind="transactional")
    make_sequence("購入御礼", steps=[{"subject": "ご購入ありがとう", "delay": 0}])
    order_of(make_product(), guest_email="guest@example.jp")
    assert dispatch_due().sent == 2


@pytest.mark.django_db
def test_a_mail_the_cap_would_hold_too_long_is_skipped_with_the_reason(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "FREQUENCY_CAPS": [(1, 24), (2, 24 * 7)],
                         "FREQUENCY_CAP_MAX_DELAY_HOURS": 48}
    make_sequence("購入御礼", steps=[{"subject": "ありがとう", "delay": 0}])
    product = make_product()
    start = timezone.now()
    order_of(product, guest_email="busy@example.jp")
    dispatch_due()
    with at(start + timedelta(days=1, minutes=1)):
        order_of(product, guest_email="busy@example.jp")
        dispatch_due()
    with at(start + timedelta(days=2, minutes=2)):
        order_of(product, guest_email="busy@example.jp")  # a third mail this week: ~5 days' wait
        result = dispatch_due()
    assert (result.sent, dict(result.reasons)) == (0, {"frequency_cap": 1})
    assert Delivery.objects.filter(status=DeliveryStatus.SKIPPED, reason="frequency_cap").count() == 1


@pytest.mark.django_db
def test_the_cap_costs_a_fixed_number_of_queries_per_batch(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "FREQUENCY_CAPS": [(1, 24), (3, 168)]}
    make_sequence("購入御礼", steps=[{"subject": "ありがとう", "delay": 0}])
    product = make_product()

    def queries_to_send(count, prefix):
        for n in range(count):
            order_of(product, guest_email=f"{prefix}{n}@example.jp")
        run_follow_ups()  # the orders' own work (per order by nature), before the batch is counted
        with CaptureQueriesContext(connection) as ctx:
            assert dispatch_due(batch_size=100).sent == count
        return len(ctx)

    assert queries_to_send(3, "a") == queries_to_send(12, "b")


@pytest.mark.django_db
def test_catch_up_after_three_days_down_sends_each_step_once_in_order_and_skips_stale_birthday_mail():
    make_sequence("購入後", steps=[
        {"subject": "当日", "delay": 0}, {"subject": "翌日", "delay": 1}, {"subject": "2日後", "delay": 2},
    ])
    sequence_with("誕生日", "birthday", [{"subject": "お誕生日おめでとう", "delay": 0}], stale_after_hours=24)
    Contact.objects.create(email="guest@example.jp", birthday=date(1990, 6, 2), timezone="Asia/Tokyo",
                           consent=ConsentStatus.OPTED_IN)
    start = datetime(2026, 6, 1, 12, 0, tzinfo=TOKYO)
    with at(start):
        order_of(make_product(), guest_email="guest@example.jp")
    with at(datetime(2026, 6, 2, 0, 30, tzinfo=TOKYO)):
        scan_dates()  # the scan ran; then the dispatcher went down for three days
    with at(start + timedelta(days=3)):
        first = dispatch_due()
        second = dispatch_due()
    assert [m.subject for m in mail.outbox] == ["当日", "翌日", "2日後"]
    assert (first.sent, second.sent, second.claimed) == (3, 0, 0)
    birthday = Delivery.objects.get(step__title="お誕生日おめでとう")
    assert (birthday.status, birthday.reason) == (DeliveryStatus.SKIPPED, "stale")
    assert Enrollment.objects.get(sequence__title="誕生日").status == "completed"


@pytest.mark.django_db
def test_the_birthday_scan_catches_up_missed_days_and_staleness_decides():
    sequence_with("誕生日", "birthday", [{"subject": "お誕生日おめでとう", "delay": 0}], stale_after_hours=48)
    Contact.objects.create(email="a@example.jp", birthday=date(1990, 6, 2), timezone="Asia/Tokyo",
                           consent=ConsentStatus.OPTED_IN)
    Contact.objects.create(email="b@example.jp", birthday=date(1990, 6, 4), timezone="Asia/Tokyo",
                           consent=ConsentStatus.OPTED_IN)
    with at(datetime(2026, 6, 4, 12, 0, tzinfo=TOKYO)):  # everything was down from the 1st
        scan_dates()
        dispatch_due()
    assert [m.to for m in mail.outbox] == [["b@example.jp"]]
    stale = Delivery.objects.get(enrollment__contact__email="a@example.jp")
    assert (stale.status, stale.reason) == (DeliveryStatus.SKIPPED, "stale")
