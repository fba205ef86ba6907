"""Checkout enrolls at once; what an order also causes (ending sequences the purchase stops,
crediting the order to a mail) is done by the dispatcher's next tick, and nothing is lost or sent
wrongly meanwhile."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from stepmail_plugin import followups
from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Enrollment, EnrollmentStatus, FollowUp

from .builders import make_product, order_of, with_rules
from .factories import make_sequence, make_user

WELCOME = [{"subject": "ようこそ", "delay": 0}, {"subject": "初回限定クーポン", "delay": 3}]


@pytest.mark.django_db
def test_checkout_enrolls_at_once_and_the_next_tick_ends_what_the_purchase_stops():
    with_rules(make_sequence("ようこそ", "user_registered", steps=WELCOME), exit_on_purchase=True)
    make_sequence("購入後フォロー", steps=[{"subject": "ご購入ありがとうございます", "delay": 0}])
    start = timezone.now()
    user = make_user()
    dispatch_due()
    with time_machine.travel(start + timedelta(days=1), tick=False):
        order_of(make_product(), user=user)
        # Checkout enrolled the customer in the order's sequence and queued the rest.
        assert Enrollment.objects.filter(sequence__title="購入後フォロー").exists()
        welcome = Enrollment.objects.get(sequence__title="ようこそ")
        assert welcome.status == EnrollmentStatus.ACTIVE
        assert FollowUp.objects.count() == 1
        result = dispatch_due()
    assert result.follow_ups == 1 and not FollowUp.objects.exists()
    welcome.refresh_from_db()
    assert (welcome.status, welcome.exit_reason) == (EnrollmentStatus.EXITED, "purchased")
    assert sorted(m.subject for m in mail.outbox) == ["ご購入ありがとうございます", "ようこそ"]
    with time_machine.travel(start + timedelta(days=3, minutes=1), tick=False):
        dispatch_due()
    assert "初回限定クーポン" not in [m.subject for m in mail.outbox]


@pytest.mark.django_db
def test_a_mail_due_before_the_follow_up_ran_is_still_stopped_by_the_purchase():
    with_rules(make_sequence("ようこそ", "user_registered", steps=WELCOME), exit_on_purchase=True)
    start = timezone.now()
    user = make_user()
    dispatch_due()
    with time_machine.travel(start + timedelta(days=3, minutes=1), tick=False):
        order_of(make_product(), user=user)
        FollowUp.objects.all().delete()  # as if the tick had not reached it yet
        result = dispatch_due()
    assert (result.sent, dict(result.reasons)) == (0, {"purchased": 1})
    assert [m.subject for m in mail.outbox] == ["ようこそ"]


@pytest.mark.django_db
def test_a_failing_follow_up_is_logged_and_the_others_still_run(caplog):
    done = []
    followups.register("test_broken", lambda object_id: 1 / 0)
    followups.register("test_fine", done.append)
    followups.queue("test_broken", 1)
    followups.queue("test_fine", 2)
    with caplog.at_level("ERROR", logger="stepmail_plugin"):
        assert followups.run_pending() == 2
    assert done == ["2"]
    assert "follow-up test_broken:1 failed" in caplog.text
    assert not FollowUp.objects.exists()
