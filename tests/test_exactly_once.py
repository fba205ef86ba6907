"""A (enrollment, step) is sent at most once, whatever ticks overlap."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import close_old_connections, connection
from django.utils import timezone

from stepmail_plugin.dispatch import claim_batch, dispatch_due, recover_leases
from stepmail_plugin.models import Delivery, DeliveryStatus

from .factories import make_sequence, place_order


def two_step_sequence():
    return make_sequence(steps=[{"subject": "ありがとうございます", "delay": 0}, {"subject": "3日後", "delay": 3}])


@pytest.mark.django_db
def test_two_ticks_in_a_row_send_each_mail_once():
    two_step_sequence()
    for n in range(5):
        place_order(guest_email=f"guest{n}@example.jp")
    first = dispatch_due()
    second = dispatch_due()
    assert (first.sent, second.sent) == (5, 0)
    assert sorted(m.to[0] for m in mail.outbox) == [f"guest{n}@example.jp" for n in range(5)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_never_send_the_same_delivery_twice():
    two_step_sequence()
    recipients = [f"c{n}@example.jp" for n in range(60)]
    for email in recipients:
        place_order(guest_email=email)
    assert Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).count() == 60

    barrier = threading.Barrier(3)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(dispatch_due(batch_size=7))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    sent_to = [m.to[0] for m in mail.outbox]
    assert sorted(sent_to) == sorted(recipients), "every due mail sent exactly once"
    assert sum(r.sent for r in results) == 60
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 60
    # The next step of each is scheduled once.
    assert Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).count() == 60


@pytest.mark.django_db
def test_a_claim_held_by_a_dead_worker_is_released_after_the_lease():
    two_step_sequence()
    place_order(guest_email="lease@example.jp")
    import uuid

    assert claim_batch(uuid.uuid4(), 10) == 1  # a worker claims, then dies before sending
    assert dispatch_due().sent == 0  # held by the lease: nobody else sends it
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        result = dispatch_due()
    assert (result.released, result.sent) == (1, 1)
    assert [m.to for m in mail.outbox] == [["lease@example.jp"]]


@pytest.mark.django_db
def test_a_worker_that_died_while_sending_leaves_it_uncertain_never_resent():
    two_step_sequence()
    place_order(guest_email="uncertain@example.jp")
    delivery = Delivery.objects.get()
    # What a worker leaves behind when killed between handing the mail to the ESP and commit.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now(), claim_token="6a1f0c1e-8f0e-4b7e-9d55-0d4c2d2f5a10"
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        released, uncertain = recover_leases()
        result = dispatch_due()
    assert (released, uncertain, result.sent) == (0, 1, 0)
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.UNCERTAIN
    assert mail.outbox == []
