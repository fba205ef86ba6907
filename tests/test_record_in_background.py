"""PostgreSQL: a chunk's record is written by a thread with its own connection while the next
chunk is rendered (record_writer.py). The next chunk goes out only after that record committed,
and only the rows it says are still ours."""

import uuid

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings

from stepmail_plugin import dispatch
from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment
from stepmail_plugin.record_writer import RecordWriter

from .factories import make_sequence, place_order

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="records are written in the background on PostgreSQL"),
    # Committed rows: the writer's own connection cannot see a test's open transaction.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def chunks_of_two(monkeypatch):
    make_sequence(steps=[{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}])
    for n in range(5):
        place_order(guest_email=f"guest{n}@example.jp")
    monkeypatch.setattr(dispatch, "SEND_CHUNK", 2)
    submitted = []
    real_submit = RecordWriter.submit

    def counting_submit(self, work):
        submitted.append(self.alias)
        return real_submit(self, work)

    monkeypatch.setattr(RecordWriter, "submit", counting_submit)
    return submitted


def connections_to_this_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_each_mail_goes_out_once_and_every_enrollment_moves_on(chunks_of_two):
    result = dispatch_due()
    assert chunks_of_two == ["default", "default"]  # the records of chunks 1 and 2 (3 is the last)
    assert (result.sent, result.lost_claims) == (5, 0)
    assert sorted(m.to[0] for m in mail.outbox) == [f"guest{n}@example.jp" for n in range(5)]
    for enrollment in Enrollment.objects.all():
        assert sorted(enrollment.deliveries.values_list("status", flat=True)) == [
            DeliveryStatus.SCHEDULED, DeliveryStatus.SENT
        ]
    # The writer's connection ends with the tick.
    assert connections_to_this_database() == 1


def test_rows_another_worker_took_meanwhile_are_left_to_it(chunks_of_two, monkeypatch):
    """While the first chunk is sent, another worker takes one row of the second chunk (our
    lease had expired): our background record moves only the rest, and only they go out."""
    deliveries = list(Delivery.objects.order_by("due_at", "pk"))
    taken = deliveries[2]  # the first row of the second chunk
    other = uuid.uuid4()
    real_send = dispatch.send
    sent = []

    def send(message):
        outcome = real_send(message)
        sent.append(message.to[0])
        if len(sent) == 1:
            Delivery.objects.filter(pk=taken.pk).update(claim_token=other)
        return outcome

    monkeypatch.setattr(dispatch, "send", send)
    result = dispatch_due()
    taken.refresh_from_db()
    assert taken.to_email == "" and (taken.status, taken.claim_token) == (DeliveryStatus.CLAIMED, other)
    assert result.lost_claims == 1
    assert sorted(sent) == sorted(d.enrollment.contact.email for d in deliveries if d.pk != taken.pk)


@override_settings(STEPMAIL={"RECORD_IN_BACKGROUND": False})
def test_records_are_written_in_line_when_switched_off(chunks_of_two):
    result = dispatch_due()
    assert chunks_of_two == []
    assert result.sent == 5
