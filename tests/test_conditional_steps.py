"""Steps sent only if (or skipped if) the customer bought, opened or clicked."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus

from .builders import make_product, order_of, with_step_rules
from .factories import add_step, make_sequence, make_user


def days(start, n):
    return time_machine.travel(start + timedelta(days=n, minutes=1), tick=False)


def subjects_to(email):
    return [m.subject for m in mail.outbox if m.to == [email]]


@pytest.mark.django_db
def test_follow_ups_depend_on_whether_the_previous_mail_was_opened_or_clicked():
    sequence = make_sequence("ニュースレター", steps=[{"subject": "新作のご案内", "delay": 0}])
    with_step_rules(add_step(sequence, subject="気に入っていただけましたか?", delay=2), send_condition="opened_previous")
    with_step_rules(add_step(sequence, subject="もう一度ご案内", delay=2, title="再送"), send_condition="not_opened_previous")
    with_step_rules(add_step(sequence, subject="クリックありがとう", delay=4), send_condition="clicked_previous")
    start = timezone.now()
    for email in ("reader@example.jp", "clicker@example.jp", "ignorer@example.jp"):
        order_of(make_product(), guest_email=email)
    dispatch_due()
    # The tracking work records opens and clicks on the delivery.
    first = {d.enrollment.contact.email: d for d in Delivery.objects.filter(step__title="新作のご案内")}
    Delivery.objects.filter(pk=first["reader@example.jp"].pk).update(opened_at=timezone.now())
    for day in (2, 3, 4):
        with days(start, day):
            dispatch_due()
    assert subjects_to("reader@example.jp") == ["新作のご案内", "気に入っていただけましたか?"]
    assert subjects_to("ignorer@example.jp") == ["新作のご案内", "もう一度ご案内"]
    # "clicked" looks at the mail sent just before it; a skipped step is not a mail sent.
    with_second_click = Delivery.objects.get(step__title="気に入っていただけましたか?", status=DeliveryStatus.SENT)
    assert with_second_click.enrollment.contact.email == "reader@example.jp"
    skipped = Delivery.objects.filter(status=DeliveryStatus.SKIPPED, reason="condition_not_met").count()
    assert skipped == 3 + 3  # one of the two day-2 steps for each, and nobody clicked


@pytest.mark.django_db
def test_a_click_on_the_previous_mail_sends_the_next():
    sequence = make_sequence("ニュースレター", steps=[{"subject": "新作のご案内", "delay": 0}])
    with_step_rules(add_step(sequence, subject="クリックありがとう", delay=1), send_condition="clicked_previous")
    start = timezone.now()
    order_of(make_product(), guest_email="clicker@example.jp")
    order_of(make_product(), guest_email="other@example.jp")
    dispatch_due()
    Delivery.objects.filter(enrollment__contact__email="clicker@example.jp").update(
        opened_at=timezone.now(), clicked_at=timezone.now()
    )
    with days(start, 1):
        dispatch_due()
    assert subjects_to("clicker@example.jp") == ["新作のご案内", "クリックありがとう"]
    assert subjects_to("other@example.jp") == ["新作のご案内"]


@pytest.mark.django_db
def test_purchase_conditions_send_or_skip_by_what_was_bought_since_entering():
    sequence = make_sequence("ようこそ", "user_registered", steps=[{"subject": "ようこそ", "delay": 0}])
    with_step_rules(add_step(sequence, subject="ご購入ありがとうございました", delay=3), send_condition="purchased")
    with_step_rules(add_step(sequence, subject="初回クーポン", delay=3, title="クーポン"), send_condition="not_purchased")
    start = timezone.now()
    buyer, browser = make_user("buyer@example.jp"), make_user("browser@example.jp")
    dispatch_due()
    with days(start, 1):
        order_of(make_product(), user=buyer)
    for day in (3, 4):
        with days(start, day):
            dispatch_due()
    assert subjects_to("buyer@example.jp") == ["ようこそ", "ご購入ありがとうございました"]
    assert subjects_to("browser@example.jp") == ["ようこそ", "初回クーポン"]
