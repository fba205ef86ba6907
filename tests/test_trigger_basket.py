"""Abandoned baskets (かご落ち): found by the scan, once per basket, ended by a purchase."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment, EnrollmentStatus
from stepmail_plugin.triggers.baskets import scan_abandoned_baskets

from .builders import make_product, open_basket, order_of, with_rules
from .factories import make_sequence, make_user, run_follow_ups

REMINDER = [
    {
        "subject": "お買い忘れはありませんか?",
        "delay": 0,
        "body": [
            ("paragraph", "<p>{{ first_name }}様、カートに商品が残っています。</p>"),
            ("left_items", {"heading": "カートの商品", "button_text": "カートを見る", "limit": 4}),
        ],
    },
    {"subject": "まだ間に合います", "delay": 1},
]


def abandoned_basket_sequence(hours=3):
    return with_rules(make_sequence("かご落ち", "basket_abandoned", steps=REMINDER), threshold_value=hours)


def at(start, **delta):
    return time_machine.travel(start + timedelta(**delta), tick=False)


@pytest.mark.django_db
def test_an_idle_basket_enrolls_its_owner_once_and_the_mail_shows_its_lines():
    abandoned_basket_sequence(hours=3)
    user = make_user()
    start = timezone.now()
    basket = open_basket(user, (make_product("リネンシャツ"), 2), make_product("デニム"))
    with at(start, hours=2):
        assert scan_abandoned_baskets()["enrolled"] == 0  # not idle long enough
    with at(start, hours=3, minutes=5):
        assert scan_abandoned_baskets()["enrolled"] == 1
        assert scan_abandoned_baskets()["enrolled"] == 0  # one enrollment per basket
        dispatch_due()
    enrollment = Enrollment.objects.get()
    assert enrollment.trigger_object == basket
    assert enrollment.anchor_at == basket.lines.latest("date_updated").date_updated + timedelta(hours=3)
    message = mail.outbox[0]
    assert message.subject == "お買い忘れはありませんか?"
    html = message.alternatives[0][0]
    assert "リネンシャツ" in html and "デニム" in html
    assert "https://shop.example.jp/shop/basket/" in html
    assert "リネンシャツ × 2" in message.body
    assert "カートを見る: https://shop.example.jp/shop/basket/" in message.body


@pytest.mark.django_db
def test_empty_anonymous_and_addressless_baskets_are_left_alone():
    abandoned_basket_sequence()
    start = timezone.now()
    open_basket(make_user("empty@example.jp"))
    open_basket(None, make_product())
    open_basket(make_user("", username="noemail"), make_product("靴"))
    with at(start, hours=4):
        assert scan_abandoned_baskets()["enrolled"] == 0


@pytest.mark.django_db
def test_placing_an_order_ends_the_abandoned_basket_sequence():
    abandoned_basket_sequence()
    user = make_user()
    start = timezone.now()
    open_basket(user, make_product("リネンシャツ"))
    with at(start, hours=4):
        scan_abandoned_baskets()
        dispatch_due()
    assert len(mail.outbox) == 1
    with at(start, hours=10):
        order_of(make_product("別の商品"), user=user)  # bought, even if from another basket
        run_follow_ups()  # the dispatcher's next tick ends the reminder
    enrollment = Enrollment.objects.get()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.EXITED, "purchased")
    assert Delivery.objects.get(step__title="まだ間に合います").status == DeliveryStatus.CANCELLED
    with at(start, days=2):
        dispatch_due()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_checking_out_the_basket_itself_stops_the_reminder_even_without_the_receiver():
    abandoned_basket_sequence()
    user = make_user()
    start = timezone.now()
    basket = open_basket(user, make_product("リネンシャツ"))
    with at(start, hours=4):
        scan_abandoned_baskets()
    basket.submit()  # checked out; the order receiver has not run yet
    with at(start, hours=4, minutes=1):
        result = dispatch_due()
    assert (result.sent, dict(result.reasons)) == (0, {"purchased": 1})
    assert Enrollment.objects.get().exit_reason == "purchased"


@pytest.mark.django_db
def test_each_sequence_uses_its_own_threshold():
    quick = abandoned_basket_sequence(hours=1)
    slow = with_rules(make_sequence("翌日", "basket_abandoned", steps=[{"subject": "翌日"}]), threshold_value=1,
                      threshold_unit="days")
    start = timezone.now()
    open_basket(make_user(), make_product())
    with at(start, hours=2):
        scan_abandoned_baskets()
    assert list(Enrollment.objects.values_list("sequence_id", flat=True)) == [quick.pk]
    with at(start, hours=25):
        scan_abandoned_baskets()
    assert set(Enrollment.objects.values_list("sequence_id", flat=True)) == {quick.pk, slow.pk}
