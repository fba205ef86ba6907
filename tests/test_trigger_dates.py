"""Birthdays, anniversaries and dormant customers: daily moments in each customer's time zone."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import override_settings

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import ConsentStatus, Contact, Enrollment, EnrollmentStatus
from stepmail_plugin.triggers.dates import occurrence, scan_dates, scan_dormant

from .builders import make_product, order_of, with_rules
from .factories import make_sequence, make_user, run_follow_ups

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
BIRTHDAY_MAIL = [{"subject": "お誕生日おめでとうございます", "delay": 0}]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def contact(email, birthday, tz=""):
    return Contact.objects.create(email=email, birthday=birthday, timezone=tz, consent=ConsentStatus.OPTED_IN)


def scan_at(moment):
    with time_machine.travel(moment, tick=False):
        return scan_dates()


@pytest.mark.django_db
def test_a_birthday_starts_at_midnight_in_the_customers_own_zone_once_a_year():
    sequence = make_sequence("誕生日", "birthday", steps=BIRTHDAY_MAIL)
    tokyo = contact("tokyo@example.jp", date(1990, 5, 20), "Asia/Tokyo")
    new_york = contact("ny@example.com", date(1985, 5, 20), "America/New_York")
    scan_at(utc(2026, 5, 19, 14, 30))  # 23:30 in Tokyo: not yet
    assert Enrollment.objects.count() == 0
    scan_at(utc(2026, 5, 19, 15, 30))  # 00:30 on the 20th in Tokyo, still the 19th in New York
    assert [e.contact for e in Enrollment.objects.all()] == [tokyo]
    assert Enrollment.objects.get(contact=tokyo).anchor_at == datetime(2026, 5, 20, tzinfo=TOKYO)
    scan_at(utc(2026, 5, 20, 4, 30))  # 00:30 EDT
    assert Enrollment.objects.get(contact=new_york).anchor_at == datetime(2026, 5, 20, tzinfo=NEW_YORK)
    scan_at(utc(2026, 5, 20, 12, 0))
    assert Enrollment.objects.filter(sequence=sequence).count() == 2  # once a year
    scan_at(utc(2027, 5, 20, 1, 0))
    assert Enrollment.objects.filter(contact=tokyo).count() == 2  # next year again
    assert sorted(Enrollment.objects.filter(contact=tokyo).values_list("key", flat=True)) == [
        "birthday:2026", "birthday:2027"
    ]


@pytest.mark.django_db
def test_29_february_birthdays_fall_on_28_february_in_other_years():
    make_sequence("誕生日", "birthday", steps=BIRTHDAY_MAIL)
    leap = contact("leap@example.jp", date(2000, 2, 29), "Asia/Tokyo")
    scan_at(utc(2027, 2, 28, 3, 0))
    assert Enrollment.objects.get(contact=leap).key == "birthday:2027"
    scan_at(utc(2028, 2, 28, 3, 0))
    assert Enrollment.objects.filter(contact=leap).count() == 1  # 2028 has its own 29th
    scan_at(utc(2028, 2, 29, 3, 0))
    assert Enrollment.objects.filter(contact=leap).count() == 2
    with override_settings(STEPMAIL={"LEAP_DAY_FALLBACK": "03-01"}):
        assert occurrence(date(2000, 2, 29), 2027) == date(2027, 3, 1)


@pytest.mark.django_db
def test_a_birthday_sequence_can_start_days_before_the_date():
    with_rules(make_sequence("誕生日前", "birthday", steps=BIRTHDAY_MAIL), threshold_value=7, threshold_unit="days")
    person = contact("early@example.jp", date(1990, 6, 10), "Asia/Tokyo")
    scan_at(utc(2026, 6, 2, 3, 0))
    assert not Enrollment.objects.exists()
    scan_at(utc(2026, 6, 3, 3, 0))
    assert Enrollment.objects.get(contact=person).anchor_at == datetime(2026, 6, 3, tzinfo=TOKYO)


def host_birthdays(month_days):
    """A host project's own birthday store (here: the users' last name holds it, for the test)."""
    from django.contrib.auth import get_user_model

    for user in get_user_model().objects.filter(last_name__startswith="born:"):
        born = date.fromisoformat(user.last_name[5:])
        if (born.month, born.day) in month_days:
            yield user, born


@pytest.mark.django_db
def test_birthdays_can_come_from_a_host_callable(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "BIRTHDAY_SOURCE": "tests.test_trigger_dates.host_birthdays"}
    make_sequence("誕生日", "birthday", steps=BIRTHDAY_MAIL)
    make_user("member@example.jp", last_name="born:1992-08-01")
    scan_at(utc(2026, 8, 1, 3, 0))
    enrollment = Enrollment.objects.get()
    assert enrollment.contact.email == "member@example.jp"
    assert enrollment.contact.consent == ConsentStatus.OPTED_IN  # a registered member


@pytest.mark.django_db
def test_registration_anniversary_comes_each_year_but_not_on_the_day_itself():
    sequence = make_sequence("会員登録記念日", "anniversary", steps=[{"subject": "1周年"}])
    with time_machine.travel(utc(2025, 6, 10, 3, 0), tick=False):
        user = make_user("member@example.jp")
        scan_dates()
    assert not Enrollment.objects.filter(sequence=sequence).exists()
    scan_at(utc(2026, 6, 10, 3, 0))
    enrollment = Enrollment.objects.get(sequence=sequence)
    assert (enrollment.contact.user, enrollment.key) == (user, "anniversary:2026")


@pytest.mark.django_db
def test_first_order_anniversary_counts_the_first_order_only():
    sequence = with_rules(make_sequence("初回購入記念日", "anniversary", steps=[{"subject": "記念日"}]),
                          anniversary_of="first_order")
    registration = make_sequence("登録記念日", "anniversary", steps=[{"subject": "登録"}])
    product = make_product()
    with time_machine.travel(utc(2025, 3, 3, 3, 0), tick=False):
        order_of(product, guest_email="fan@example.jp")
    with time_machine.travel(utc(2025, 4, 4, 3, 0), tick=False):
        order_of(product, guest_email="fan@example.jp")
    scan_at(utc(2026, 4, 4, 3, 0))
    assert not Enrollment.objects.filter(sequence=sequence).exists()
    scan_at(utc(2026, 3, 3, 3, 0))
    enrollment = Enrollment.objects.get(sequence=sequence)
    assert enrollment.contact.email == "fan@example.jp"
    assert not Enrollment.objects.filter(sequence=registration).exists()


@pytest.mark.django_db
def test_a_dormant_customer_is_won_back_once_per_dormant_period_and_a_purchase_ends_it():
    sequence = with_rules(
        make_sequence("休眠顧客の掘り起こし", "customer_dormant",
                      steps=[{"subject": "お久しぶりです", "delay": 0}, {"subject": "特別クーポン", "delay": 7}]),
        threshold_value=90, threshold_unit="days",
    )
    product = make_product()
    start = utc(2026, 1, 10, 3, 0)
    with time_machine.travel(start, tick=False):
        order_of(product, guest_email="sleepy@example.jp")
        order_of(product, guest_email="active@example.jp")
    with time_machine.travel(start + timedelta(days=60), tick=False):
        order_of(product, guest_email="active@example.jp")
    with time_machine.travel(start + timedelta(days=91), tick=False):
        assert scan_dormant()["enrolled"] == 1
        assert scan_dormant()["enrolled"] == 0
        dispatch_due()
    enrollment = Enrollment.objects.get(sequence=sequence)
    assert enrollment.contact.email == "sleepy@example.jp"
    assert enrollment.anchor_at == start + timedelta(days=90)
    assert [m.to for m in mail.outbox] == [["sleepy@example.jp"]]
    with time_machine.travel(start + timedelta(days=93), tick=False):
        order_of(product, guest_email="sleepy@example.jp")  # won back
        run_follow_ups()  # the dispatcher's next tick ends the sequence
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.EXITED, "purchased")
    with time_machine.travel(start + timedelta(days=100), tick=False):
        dispatch_due()
    assert len(mail.outbox) == 1
    # Dormant again after the new order: a new period, a new enrollment.
    with time_machine.travel(start + timedelta(days=93 + 91), tick=False):
        assert scan_dormant()["enrolled"] == 1
