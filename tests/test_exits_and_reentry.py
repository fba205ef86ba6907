"""When a sequence stops early, and whether a customer may go through it again."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from oscar.test import factories as oscar_factories

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Contact, Delivery, DeliveryStatus, Enrollment, EnrollmentStatus

from .builders import make_product, open_basket, order_of, with_rules
from .factories import make_sequence, make_user, run_follow_ups

WELCOME = [{"subject": "ようこそ", "delay": 0}, {"subject": "初回限定クーポン", "delay": 3}]


def days(start, n):
    return time_machine.travel(start + timedelta(days=n, minutes=1), tick=False)


@pytest.mark.django_db
def test_a_welcome_series_that_stops_on_purchase():
    with_rules(make_sequence("ようこそ", "user_registered", steps=WELCOME), exit_on_purchase=True)
    start = timezone.now()
    user = make_user()
    dispatch_due()
    with days(start, 1):
        order_of(make_product(), user=user)
        run_follow_ups()  # the dispatcher's next tick ends the sequence
    enrollment = Enrollment.objects.get()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.EXITED, "purchased")
    with days(start, 3):
        dispatch_due()
    assert [m.subject for m in mail.outbox] == ["ようこそ"]


@pytest.mark.django_db
def test_stop_once_product_b_is_bought():
    a, b, c = make_product("化粧水"), make_product("美容液"), make_product("タオル")
    with_rules(
        make_sequence("美容液のおすすめ", steps=[{"subject": "使い心地は?", "delay": 0}, {"subject": "美容液もどうぞ", "delay": 5}]),
        filter_products=[a], exit_products=[b],
    )
    start = timezone.now()
    order_of(a, guest_email="one@example.jp")
    order_of(a, guest_email="two@example.jp")
    dispatch_due()
    with days(start, 1):
        order_of(b, guest_email="one@example.jp")  # bought what the mails promote
        order_of(c, guest_email="two@example.jp")  # something else: keep going
    with days(start, 5):
        dispatch_due()
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("one@example.jp", "使い心地は?"),
        ("two@example.jp", "使い心地は?"),
        ("two@example.jp", "美容液もどうぞ"),
    ]
    assert Enrollment.objects.get(contact__email="one@example.jp").exit_reason == "purchased"


@pytest.mark.django_db
def test_a_purchase_the_receiver_never_saw_is_caught_at_send_time():
    with_rules(make_sequence("ようこそ", "user_registered", steps=WELCOME), exit_on_purchase=True)
    start = timezone.now()
    user = make_user()
    dispatch_due()
    with days(start, 1):
        basket = open_basket(user, make_product())
        oscar_factories.create_order(basket=basket, user=user)  # its on-commit receivers never run
    assert Enrollment.objects.get().status == EnrollmentStatus.ACTIVE
    with days(start, 3):
        result = dispatch_due()
    assert (result.sent, dict(result.reasons)) == (0, {"purchased": 1})
    assert Enrollment.objects.get().exit_reason == "purchased"


@pytest.mark.django_db
def test_a_hard_bounce_ends_the_sequence_at_send_time():
    make_sequence(steps=[{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}])
    start = timezone.now()
    order_of(make_product(), guest_email="gone@example.jp")
    dispatch_due()
    Contact.objects.filter(email="gone@example.jp").update(bounced_at=timezone.now())
    with days(start, 3):
        dispatch_due()
    assert len(mail.outbox) == 1
    assert Enrollment.objects.get().exit_reason == "bounced"


@pytest.mark.django_db
def test_reentry_per_order_once_per_customer_and_after_a_cool_down():
    per_order = make_sequence("毎回", steps=[{"subject": "a"}])
    once = with_rules(make_sequence("一度だけ", steps=[{"subject": "b"}]), reentry="once")
    cooled = with_rules(make_sequence("30日ごと", steps=[{"subject": "c"}]), reentry="cooldown", cooldown_days=30)
    product = make_product()
    start = timezone.now()
    order_of(product, guest_email="fan@example.jp")
    with days(start, 10):
        order_of(product, guest_email="fan@example.jp")
    with days(start, 45):
        order_of(product, guest_email="fan@example.jp")
    count = {s.title: Enrollment.objects.filter(sequence=s).count() for s in (per_order, once, cooled)}
    assert count == {"毎回": 3, "一度だけ": 1, "30日ごと": 2}
    keys = list(Enrollment.objects.filter(sequence=per_order).values_list("key", flat=True))
    assert all(k.startswith("order.order:") for k in keys) and len(set(keys)) == 3


@pytest.mark.django_db
def test_cancelled_deliveries_are_kept_with_the_reason():
    with_rules(make_sequence("ようこそ", "user_registered", steps=WELCOME), exit_on_purchase=True)
    user = make_user()
    dispatch_due()
    order_of(make_product(), user=user)
    run_follow_ups()  # the dispatcher's next tick
    assert Delivery.objects.get(step__title="初回限定クーポン").status == DeliveryStatus.CANCELLED
    assert Delivery.objects.get(step__title="初回限定クーポン").reason == "purchased"
