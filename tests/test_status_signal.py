"""``delivery_status_changed`` tells a project's own code about every queued mail that will not
go out: an unsubscribe, a purchase that ends a sequence, a hard bounce, staff cancelling."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.flow import cancel_enrollment
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment
from stepmail_plugin.signals import delivery_status_changed

from .builders import make_product, order_of, with_rules
from .factories import make_sequence, make_user, place_order, run_follow_ups
from .tracking_helpers import esp_event

STEPS = [{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}]


@pytest.fixture
def heard():
    """What a receiver in the project hears, after commit."""
    events = []

    def receiver(sender, delivery, old_status, new_status, **kwargs):
        events.append((delivery.step.title, old_status, new_status, delivery.reason))

    delivery_status_changed.connect(receiver)
    yield events
    delivery_status_changed.disconnect(receiver)


def queued():
    return Delivery.objects.get(status__in=[DeliveryStatus.SCHEDULED, DeliveryStatus.CANCELLED], step__title="3日後")


@pytest.mark.django_db
def test_an_unsubscribe_announces_the_cancelled_step(heard, django_capture_on_commit_callbacks):
    committing = django_capture_on_commit_callbacks
    make_sequence(steps=STEPS)
    place_order(guest_email="hanako@example.jp")
    dispatch_due()
    heard.clear()
    from stepmail_plugin.tokens import make_token

    contact_id = Enrollment.objects.get().contact_id
    with committing(execute=True):
        Client().post(f"/stepmail/unsubscribe/{make_token('unsubscribe', {'c': contact_id})}/", {"confirm": "1"})
    assert heard == [("3日後", "scheduled", "cancelled", "unsubscribed")]
    assert queued().status == DeliveryStatus.CANCELLED


@pytest.mark.django_db
def test_a_purchase_that_ends_a_sequence_announces_the_cancelled_step(heard, django_capture_on_commit_callbacks):
    committing = django_capture_on_commit_callbacks
    with_rules(make_sequence("ようこそ", "user_registered", steps=STEPS), exit_on_purchase=True)
    user = make_user()
    dispatch_due()
    heard.clear()
    order_of(make_product(), user=user)
    with committing(execute=True):
        run_follow_ups()
    assert heard == [("3日後", "scheduled", "cancelled", "purchased")]


@pytest.mark.django_db
def test_a_hard_bounce_and_staff_cancelling_announce_too(heard, django_capture_on_commit_callbacks):
    committing = django_capture_on_commit_callbacks
    make_sequence(steps=STEPS)
    place_order(guest_email="hanako@example.jp")
    place_order(guest_email="taro@example.jp")
    dispatch_due()
    heard.clear()
    hanako = Delivery.objects.get(enrollment__contact__email="hanako@example.jp", step__title="当日")
    with committing(execute=True):
        esp_event(hanako, "bounced", timezone.now())
    assert heard == [("3日後", "scheduled", "cancelled", "bounced")]

    heard.clear()
    taro = Enrollment.objects.get(contact__email="taro@example.jp")
    with committing(execute=True):
        assert cancel_enrollment(taro) == 1
        assert cancel_enrollment(taro) is None  # already ended: nothing to say
    assert heard == [("3日後", "scheduled", "cancelled", "cancelled_by_staff")]


@pytest.mark.django_db
def test_a_step_claimed_by_a_worker_is_not_announced_as_cancelled(heard, django_capture_on_commit_callbacks):
    committing = django_capture_on_commit_callbacks
    make_sequence(steps=STEPS)
    place_order(guest_email="hanako@example.jp")
    dispatch_due()
    # The day-3 step is due and a worker has claimed it when the customer unsubscribes.
    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=1)):
        Delivery.objects.filter(step__title="3日後").update(status=DeliveryStatus.CLAIMED, claimed_at=timezone.now())
        heard.clear()
        with committing(execute=True):
            cancel_enrollment(Enrollment.objects.get())
    assert heard == []
    assert Delivery.objects.get(step__title="3日後").status == DeliveryStatus.CLAIMED


@pytest.mark.django_db
def test_a_mail_erased_while_it_is_handed_over_is_announced_cancelled_not_sent(
    heard, monkeypatch, django_capture_on_commit_callbacks
):
    """The record writes only the rows still held by the worker: what it could not write (the
    erasure cancelled it first) is not announced as sent."""
    from stepmail_plugin import dispatch
    from stepmail_plugin.privacy import erase_contact

    make_sequence(steps=[{"subject": "当日", "delay": 0}])
    place_order(guest_email="erase-me@example.jp")
    place_order(guest_email="keep@example.jp")
    real_send = dispatch.send

    def send_then_erase(message):
        outcome = real_send(message)
        if message.to == ["erase-me@example.jp"]:
            erase_contact("erase-me@example.jp")
        return outcome

    monkeypatch.setattr(dispatch, "send", send_then_erase)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due()
    assert sorted(heard) == [("当日", "sending", "cancelled", "erased"), ("当日", "sending", "sent", "")]
    assert sorted(Delivery.objects.values_list("status", "reason")) == [("cancelled", "erased"), ("sent", "")]


@pytest.mark.django_db
def test_settling_an_uncertain_mail_announces_it_from_uncertain(heard, django_capture_on_commit_callbacks):
    from stepmail_plugin.uncertain import resolve_uncertain

    make_sequence(steps=[{"subject": "当日", "delay": 0}])
    place_order(guest_email="maybe@example.jp")
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.UNCERTAIN, esp_message_id="esp-1")
    with django_capture_on_commit_callbacks(execute=True):
        assert resolve_uncertain([delivery.pk], sent=True) == 1
    assert heard == [("当日", "uncertain", "sent", "")]


@pytest.mark.django_db
def test_a_mail_of_a_worker_that_stopped_mid_send_is_announced_uncertain(heard, django_capture_on_commit_callbacks):
    from stepmail_plugin.conf import stepmail_settings
    from stepmail_plugin.dispatch import recover_leases

    make_sequence(steps=[{"subject": "当日", "delay": 0}])
    place_order(guest_email="stopped@example.jp")
    long_ago = timezone.now() - timedelta(seconds=2 * stepmail_settings.LEASE_SECONDS)
    Delivery.objects.update(status=DeliveryStatus.SENDING, claimed_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert recover_leases() == (0, 1)
    assert heard == [("当日", "sending", "uncertain", "")]
