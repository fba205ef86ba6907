"""Checkout enrolls at once; what an order also causes (ending sequences the purchase stops,
crediting the order to a mail) is done by the dispatcher's next tick, and nothing is lost or sent
wrongly meanwhile."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from bs4 import BeautifulSoup
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from stepmail_plugin import followups
from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Enrollment, EnrollmentStatus, FollowUp
from stepmail_plugin.triggers.orders import follow_up_order
from stepmail_plugin.triggers.registry import ORDER_PLACED

from .builders import make_product, order_of, with_rules
from .editor import superuser
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


class Flaky:
    """The real order follow-up, failing its first ``failures`` calls (as a database hiccup or a
    bug fixed by a deploy would)."""

    def __init__(self, failures: int):
        self.failures, self.calls = failures, 0

    def __call__(self, object_id):
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"transient failure {self.calls}")
        return follow_up_order(object_id)


@pytest.fixture
def order_handler():
    """Swap the order follow-up's handler for a test; the real one is registered again after."""
    def swap(handler):
        followups.register(ORDER_PLACED.key, handler)
        return handler

    yield swap
    followups.register(ORDER_PLACED.key, follow_up_order)


@pytest.mark.django_db
def test_a_follow_up_that_fails_is_retried_later_and_its_work_is_done(order_handler, caplog):
    with_rules(make_sequence("ようこそ", "user_registered", steps=WELCOME), exit_on_purchase=True)
    start = timezone.now()
    user = make_user()
    dispatch_due()
    flaky = order_handler(Flaky(failures=2))
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        order_of(make_product(), user=user)
        with caplog.at_level("ERROR", logger="stepmail_plugin"):
            assert dispatch_due().follow_ups == 1
        assert "transient failure 1" in caplog.text
        row = FollowUp.objects.get()
        assert (row.attempts, row.error, row.failed_at) == (1, "RuntimeError: transient failure 1", None)
        assert row.due_at == timezone.now() + timedelta(seconds=60)
        assert Enrollment.objects.get(sequence__title="ようこそ").status == EnrollmentStatus.ACTIVE
        # Not due yet: the next tick leaves it alone.
        assert dispatch_due().follow_ups == 0 and flaky.calls == 1
    with time_machine.travel(start + timedelta(hours=1, seconds=61), tick=False):
        assert dispatch_due().follow_ups == 1
        assert FollowUp.objects.get().attempts == 2  # waits twice as long now
        assert FollowUp.objects.get().due_at == timezone.now() + timedelta(seconds=120)
    with time_machine.travel(start + timedelta(hours=1, minutes=4), tick=False):
        assert dispatch_due().follow_ups == 1
    assert flaky.calls == 3 and not FollowUp.objects.exists()
    welcome = Enrollment.objects.get(sequence__title="ようこそ")
    assert (welcome.status, welcome.exit_reason) == (EnrollmentStatus.EXITED, "purchased")


@pytest.mark.django_db
def test_a_follow_up_failing_every_attempt_is_kept_for_staff_and_blocks_nothing(
    order_handler, settings, client, english
):
    settings.STEPMAIL = {**settings.STEPMAIL, "FOLLOW_UP_MAX_ATTEMPTS": 3}
    with_rules(make_sequence("ようこそ", "user_registered", steps=WELCOME), exit_on_purchase=True)
    start = timezone.now()
    broken_buyer, other_buyer = make_user("taro@example.jp"), make_user("jiro@example.jp")
    dispatch_due()
    broken = order_handler(Flaky(failures=99))
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        broken_order = order_of(make_product(), user=broken_buyer)
    order_handler(follow_up_order)
    done = []
    followups.register("test_fine", done.append)
    with time_machine.travel(start + timedelta(hours=1, minutes=1), tick=False):
        followups.queue("test_fine", 7)
        order_handler(broken)
        assert dispatch_due().follow_ups == 2
    assert done == ["7"]  # the failing one did not hold it up
    for minutes in (3, 6, 60):  # 60 s, then 120 s later; then nothing is due any more
        with time_machine.travel(start + timedelta(hours=1, minutes=minutes), tick=False):
            dispatch_due()
    assert broken.calls == 3
    row = FollowUp.objects.get()
    assert (row.kind, row.object_id, row.attempts) == (ORDER_PLACED.key, str(broken_order.pk), 3)
    assert row.failed_at is not None and row.due_at is None
    assert row.error == "RuntimeError: transient failure 3"
    # The purchase's work is not done, and not forgotten either.
    assert Enrollment.objects.filter(contact__user=broken_buyer, status=EnrollmentStatus.ACTIVE).exists()
    assert followups.run_pending() == 0  # kept, not retried: the idle tick stays one EXISTS

    # A later order's follow-up still runs.
    order_handler(follow_up_order)
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        order_of(make_product(), user=other_buyer)
        assert dispatch_due().follow_ups == 1
    assert FollowUp.objects.count() == 1
    assert Enrollment.objects.get(contact__user=other_buyer).exit_reason == "purchased"

    # Staff see it on the dashboard.
    client.force_login(superuser())
    page = BeautifulSoup(client.get(reverse("wagtailadmin_home")).content, "html.parser")
    line = page.find(attrs={"data-metric": "follow_ups_failed"})
    text = " ".join(line.get_text(" ", strip=True).split())
    assert text.startswith("1 order follow-up needs attention: it failed every retry")
    assert f"order_placed #{broken_order.pk}: RuntimeError: transient failure 3" in text

    # The operator lists it, then (the cause fixed) queues it again: done by the next tick.
    out = StringIO()
    call_command("stepmail_follow_ups", stdout=out)
    assert out.getvalue().startswith(f"{row.pk}\t{ORDER_PLACED.key}\t{broken_order.pk}\t3\t")
    assert out.getvalue().rstrip().endswith("RuntimeError: transient failure 3")
    out = StringIO()
    call_command("stepmail_follow_ups", "--retry", str(row.pk), stdout=out)
    assert out.getvalue().strip() == "1 queued again for the next tick"
    assert dispatch_due().follow_ups == 1 and not FollowUp.objects.exists()
    out = StringIO()
    call_command("stepmail_follow_ups", stdout=out)
    assert out.getvalue().strip() == "No failed follow-ups."
    assert Enrollment.objects.get(contact__user=broken_buyer).exit_reason == "purchased"


@pytest.mark.django_db
def test_a_follow_up_without_a_handler_is_kept_as_failed_not_dropped(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "FOLLOW_UP_MAX_ATTEMPTS": 1}
    followups.queue("test_unknown_kind", 5)
    assert followups.run_pending() == 1
    row = FollowUp.objects.get()
    assert row.failed_at is not None and "no handler registered" in row.error
