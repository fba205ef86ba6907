"""Staff acting on an enrollment or a delivery between its send and its record.

The record (on PostgreSQL one statement, elsewhere a transaction) writes a chunk's outcomes by
compare-and-set and advances only enrollments that are still active and whose delivery it wrote.
"""

import uuid

import pytest
from django.core import mail
from django.db import OperationalError, connection

from stepmail_plugin import dispatch
from stepmail_plugin.dispatch import BatchSender, TickResult, claim_batch, dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment, EnrollmentStatus
from stepmail_plugin.signals import delivery_status_changed

from .factories import make_sequence, place_order


def during_send(monkeypatch, action):
    """Run ``action`` right after each message is handed over, before the chunk is recorded."""
    real_send = dispatch.send

    def send(message):
        outcome = real_send(message)
        action()
        return outcome

    monkeypatch.setattr(dispatch, "send", send)


def claimed_batch(steps=2) -> uuid.UUID:
    subjects = ["当日", "3日後", "7日後"][:steps]
    make_sequence(steps=[{"subject": s, "delay": 3 * n} for n, s in enumerate(subjects)])
    place_order(guest_email="guest@example.jp")
    token = uuid.uuid4()
    assert claim_batch(token, 10) == 1
    return token


@pytest.mark.django_db
@pytest.mark.parametrize("status", [EnrollmentStatus.PAUSED, EnrollmentStatus.CANCELLED])
def test_an_enrollment_stopped_while_its_mail_was_sent_gets_no_next_step(monkeypatch, status):
    token = claimed_batch()
    during_send(monkeypatch, lambda: Enrollment.objects.update(status=status))
    BatchSender(token, TickResult()).run()
    assert [m.subject for m in mail.outbox] == ["当日"]
    assert list(Delivery.objects.values_list("status", "claim_token")) == [(DeliveryStatus.SENT, None)]
    assert Enrollment.objects.get().status == status


@pytest.mark.django_db
def test_an_enrollment_paused_while_its_last_mail_was_sent_is_not_completed(monkeypatch):
    token = claimed_batch(steps=1)
    during_send(monkeypatch, lambda: Enrollment.objects.update(status=EnrollmentStatus.PAUSED))
    BatchSender(token, TickResult()).run()
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    enrollment = Enrollment.objects.get()
    assert (enrollment.status, enrollment.ended_at) == (EnrollmentStatus.PAUSED, None)


@pytest.mark.django_db
def test_a_delivery_settled_by_someone_else_keeps_their_decision_and_is_not_advanced(monkeypatch):
    token = claimed_batch()
    during_send(monkeypatch, lambda: Delivery.objects.update(
        status=DeliveryStatus.FAILED, claim_token=None, reason="settled_by_staff"
    ))
    BatchSender(token, TickResult()).run()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason, delivery.attempts) == (DeliveryStatus.FAILED, "settled_by_staff", 0)
    assert Enrollment.objects.get().status == EnrollmentStatus.ACTIVE


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement record is PostgreSQL's")
def test_a_record_repeated_after_a_lost_connection_changes_nothing_more(monkeypatch):
    """The statement committed, then the connection dropped before its answer: written again,
    it must neither add next steps nor lose the next chunk it moved to ``sending``."""
    make_sequence(steps=[{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}])
    for n in range(3):
        place_order(guest_email=f"guest{n}@example.jp")
    monkeypatch.setattr(dispatch, "SEND_CHUNK", 1)
    real_write = BatchSender._write_at_once
    repeats = []

    def write_then_drop(self, *args, **kwargs):
        moved = real_write(self, *args, **kwargs)
        if not repeats:
            repeats.append(moved)
            raise OperationalError("server closed the connection unexpectedly")
        repeats.append(moved)
        return moved

    monkeypatch.setattr(BatchSender, "_write_at_once", write_then_drop)
    monkeypatch.setattr(dispatch.time, "sleep", lambda seconds: None)
    heard = []

    def receiver(sender, delivery, old_status, new_status, **kwargs):
        heard.append((delivery.enrollment.contact.email, old_status, new_status))

    delivery_status_changed.connect(receiver)
    try:
        result = dispatch_due()
    finally:
        delivery_status_changed.disconnect(receiver)
    # The repeat moved nothing and wrote nothing: the first run had.
    assert repeats[:2] == [(1, 1), (0, 0)]
    assert (result.sent, result.lost_claims) == (3, 0)
    # Still, each mail written by the first run is announced once, as sent.
    assert sorted(heard) == [(f"guest{n}@example.jp", "sending", "sent") for n in range(3)]
    assert sorted(m.to[0] for m in mail.outbox) == [f"guest{n}@example.jp" for n in range(3)]
    for enrollment in Enrollment.objects.all():
        assert sorted(enrollment.deliveries.values_list("status", flat=True)) == [
            DeliveryStatus.SCHEDULED, DeliveryStatus.SENT
        ]


@pytest.mark.django_db
def test_a_chunk_taken_over_whole_still_moves_the_next_one():
    """Nothing of the chunk is ours any more (another worker took it after our lease expired):
    the record writes nothing, but the batch's next chunk still moves to ``sending``."""
    token = claimed_batch()
    following = list(Delivery.objects.all())
    assert BatchSender(token, TickResult()).record([], then_move=following) == following
    assert list(Delivery.objects.values_list("status", flat=True)) == [DeliveryStatus.SENDING]
