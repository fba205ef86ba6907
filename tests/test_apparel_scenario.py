"""The apparel post-purchase scenario of the seeds (001): mails at day 0, 3, 5 and 7 after the order."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment, EnrollmentStatus

from .factories import make_sequence, make_user, paragraph, place_order

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=TOKYO)


def apparel_sequence():
    return make_sequence(
        "アパレル購入後フォロー",
        "order_placed",
        [
            {"subject": "{{ first_name|default:\"お客様\" }}様、ご購入ありがとうございます", "delay": 0,
             "body": [("heading", "ご注文番号 {{ order_number }}"), paragraph("<p>合計 {{ order_total }}</p>")]},
            {"subject": "もう洋服は着てみましたか?", "delay": 3},
            {"subject": "{{ first_name }}様に合うボトムはこれです", "delay": 5},
            {"subject": "この靴と合わせてみても良いですね", "delay": 7},
        ],
    )


def tick_at(moment):
    with time_machine.travel(moment, tick=False):
        return dispatch_due()


@pytest.mark.django_db(transaction=True)
def test_four_mails_on_their_days_each_once():
    apparel_sequence()
    user = make_user()
    with time_machine.travel(T0, tick=False):
        order = place_order(user=user)

    timeline = []
    for moment in [
        T0 + timedelta(minutes=1),
        T0 + timedelta(days=1),
        T0 + timedelta(days=3) - timedelta(minutes=1),  # just before day 3: nothing yet
        T0 + timedelta(days=3),
        T0 + timedelta(days=3, hours=1),  # a second tick the same day sends nothing new
        T0 + timedelta(days=5),
        T0 + timedelta(days=7),
        T0 + timedelta(days=30),
    ]:
        before = len(mail.outbox)
        tick_at(moment)
        timeline.append((moment - T0, [m.subject for m in mail.outbox[before:]]))

    assert timeline == [
        (timedelta(minutes=1), ["花子様、ご購入ありがとうございます"]),
        (timedelta(days=1), []),
        (timedelta(days=3) - timedelta(minutes=1), []),
        (timedelta(days=3), ["もう洋服は着てみましたか?"]),
        (timedelta(days=3, hours=1), []),
        (timedelta(days=5), ["花子様に合うボトムはこれです"]),
        (timedelta(days=7), ["この靴と合わせてみても良いですね"]),
        (timedelta(days=30), []),
    ]
    assert all(m.to == ["hanako@example.jp"] for m in mail.outbox)

    first = mail.outbox[0]
    html = first.alternatives[0][0]
    assert f"ご注文番号 {order.number}" in html

    assert "￥4,800" in html  # Babel's Japanese currency format
    # CSS is inlined for mail clients that drop <style>.
    assert 'class="sm-heading" style="' in html
    assert "ご注文番号" in first.body  # plain-text part
    assert "株式会社テストショップ" in first.body and "東京都中央区銀座1-2-3" in first.body
    unsubscribe = first.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://shop.example.jp/stepmail/unsubscribe/")
    assert first.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe[1:-1] in html and unsubscribe[1:-1] in first.body

    deliveries = Delivery.objects.order_by("due_at")
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 4
    assert [d.due_at - T0 for d in deliveries] == [timedelta(days=n) for n in (0, 3, 5, 7)]
    params = first.anymail_test_params
    assert params["metadata"] == {"stepmail_delivery_id": str(deliveries[0].pk)}
    assert len(params["tags"]) == 2
    assert deliveries[0].esp_message_id == "0"  # anymail's test backend: index in the outbox
    enrollment = Enrollment.objects.get()
    assert enrollment.status == EnrollmentStatus.COMPLETED
    assert enrollment.exit_reason == "last_step"


@pytest.mark.django_db
def test_delays_count_from_the_order_not_from_the_previous_mail():
    apparel_sequence()
    with time_machine.travel(T0, tick=False):
        place_order(user=make_user())
    # The dispatcher was down for four days: day 0 and day 3 go out once, in order, and day 5
    # is still due on day 5 (not four days after the late mail).
    sent = []
    for moment in (T0 + timedelta(days=4), T0 + timedelta(days=4, minutes=1), T0 + timedelta(days=5)):
        before = len(mail.outbox)
        tick_at(moment)
        tick_at(moment)
        sent.append([m.subject for m in mail.outbox[before:]])
    assert sent == [
        ["花子様、ご購入ありがとうございます", "もう洋服は着てみましたか?"],
        [],
        ["花子様に合うボトムはこれです"],
    ]


@pytest.mark.django_db
def test_each_mail_has_its_own_message_id_and_a_readable_text_part():
    make_sequence(
        steps=[{"subject": "こんにちは", "delay": 0, "body": [
            paragraph('<p>新作は<a href="https://shop.example.jp/new/">こちら</a></p><ul><li>シャツ</li><li>パンツ</li></ul>')
        ]}]
    )
    place_order(guest_email="a@example.jp")
    place_order(guest_email="b@example.jp")
    dispatch_due()
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(set(ids)) == 2 and all(i.startswith("<stepmail.") and i.endswith("@shop.example.jp>") for i in ids)
    text = mail.outbox[0].body
    # Links to the shop carry UTM parameters (STEPMAIL["UTM_PARAMS"], docs/metrics.md).
    assert "新作はこちら (https://shop.example.jp/new/?utm_source=stepmail&utm_medium=email" in text
    assert "  * シャツ\n  * パンツ" in text
