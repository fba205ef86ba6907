"""PostgreSQL: a chunk's record is written by a thread with its own connection while the next
chunk is rendered (record_writer.py). The next chunk goes out only after that record committed,
and only the rows it says are still ours. A batch's first chunk moves to ``sending`` in that
thread while it renders, and its last record is written while the tick's next batch loads."""

import os
import sys
import threading
import time
import uuid

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings

from stepmail_plugin import dispatch
from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.journal import SUFFIX, journal_dir
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment
from stepmail_plugin.record_writer import RecordWriter
from stepmail_plugin.signals import delivery_status_changed

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
    # The first chunk's move to sending, then the records of chunks 1, 2 and 3 (the last one
    # collected when the tick ends).
    assert chunks_of_two == ["default"] * 4
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


def journals() -> list[str]:
    directory = journal_dir()
    return sorted(n for n in os.listdir(directory) if n.endswith(SUFFIX)) if directory.exists() else []


def test_the_next_batch_loads_while_the_last_record_of_the_one_before_is_written(chunks_of_two, monkeypatch):
    """Batches of two (one chunk each): each batch's record is written by the background thread
    while the next batch loads; every change is announced and every journal discarded by the
    end of the tick."""
    events = []
    real_write, real_load = dispatch.BatchSender._write_at_once, dispatch.BatchSender.load

    def slow_write(self, outcomes, *args, **kwargs):
        events.append(("record starts", threading.current_thread().name))
        time.sleep(0.3)
        written = real_write(self, outcomes, *args, **kwargs)
        events.append(("record ends", threading.current_thread().name))
        return written

    def load(self, *args, **kwargs):
        events.append(("load", threading.current_thread().name))
        return real_load(self, *args, **kwargs)

    monkeypatch.setattr(dispatch.BatchSender, "_write_at_once", slow_write)
    monkeypatch.setattr(dispatch.BatchSender, "load", load)
    announced = []

    def receiver(sender, delivery, old_status, new_status, **kwargs):
        announced.append((delivery.pk, new_status, threading.current_thread().name))

    delivery_status_changed.connect(receiver)
    try:
        result = dispatch_due(batch_size=2)
    finally:
        delivery_status_changed.disconnect(receiver)
    assert (result.batches, result.sent) == (3, 5)
    main = threading.current_thread().name
    # Batch 2 loads in the worker's thread while batch 1's record is written in the background.
    names = [event for event, _ in events]
    loads = [n for n, event in enumerate(names) if event == "load"]
    assert loads[1] < names.index("record ends")
    assert {name for event, name in events if event.startswith("record")} == {"stepmail-record_0"}
    assert {name for event, name in events if event == "load"} == {main}
    # Every delivery's change was announced once, in the worker's thread (receivers may rely on it).
    assert sorted(pk for pk, _, _ in announced) == sorted(Delivery.objects.filter(
        status=DeliveryStatus.SENT).values_list("pk", flat=True))
    assert {(status, name) for _, status, name in announced} == {(DeliveryStatus.SENT, main)}
    assert journals() == []
    assert connections_to_this_database() == 1


def test_a_last_record_that_fails_keeps_its_journal_and_the_next_tick_settles_it(chunks_of_two, monkeypatch):
    """The first batch's record fails in the background while the second batch loads: the tick
    stops with the error before the second batch hands anything over, and the first batch's
    journal stays, so the next tick records its mails as sent without sending them again."""
    real_write = dispatch.BatchSender._write_at_once
    failed = []

    def failing_once(self, outcomes, *args, **kwargs):
        if not failed and outcomes:
            failed.append(self.token)
            raise RuntimeError("the database refused the record")
        return real_write(self, outcomes, *args, **kwargs)

    monkeypatch.setattr(dispatch.BatchSender, "_write_at_once", failing_once)
    with pytest.raises(RuntimeError, match="refused the record"):
        dispatch_due(batch_size=2)
    assert len(mail.outbox) == 2
    first = Delivery.objects.filter(enrollment__contact__email__in=[m.to[0] for m in mail.outbox])
    assert set(first.values_list("status", flat=True)) == {DeliveryStatus.SENDING}
    assert f"{failed[0]}{SUFFIX}" in journals()

    result = dispatch_due(batch_size=2)
    assert result.recovered >= 2
    # Five mails in all, each once; the first two recorded from the journal, not sent again.
    assert sorted(m.to[0] for m in mail.outbox) == [f"guest{n}@example.jp" for n in range(5)]
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 5
    assert journals() == []


@pytest.fixture
def switch_interval():
    """A switch interval other than the setting's, whatever the test process runs with; put
    back after the test."""
    original = sys.getswitchinterval()
    sys.setswitchinterval(0.004)
    yield 0.004
    sys.setswitchinterval(original)


def test_the_switch_interval_is_lowered_while_the_writer_thread_works_and_put_back_after(
    chunks_of_two, monkeypatch, switch_interval
):
    seen = []
    real_write = dispatch.BatchSender._write_at_once

    def write(self, *args, **kwargs):
        seen.append(sys.getswitchinterval())
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(dispatch.BatchSender, "_write_at_once", write)
    before = switch_interval
    assert dispatch_due().sent == 5
    assert seen and all(value == pytest.approx(0.001) for value in seen)
    assert sys.getswitchinterval() == before

    seen.clear()
    with override_settings(STEPMAIL={"RECORD_SWITCH_INTERVAL": None}):
        for delivery in Delivery.objects.filter(status=DeliveryStatus.SCHEDULED):
            delivery.due_at = delivery.created_at
            delivery.save(update_fields=["due_at"])
        assert dispatch_due().sent == 5
    assert seen and all(value == pytest.approx(before) for value in seen)


def test_a_step_without_delay_after_the_last_batch_goes_out_in_the_same_tick(monkeypatch):
    """The last batch's record, written in the background, schedules the next step due at once:
    the tick collects that record before it looks for more, and sends it too."""
    make_sequence(steps=[{"subject": "ご注文ありがとうございます", "delay": 0},
                         {"subject": "お手入れ方法", "delay": 0}])
    for n in range(3):
        place_order(guest_email=f"guest{n}@example.jp")
    result = dispatch_due()
    assert result.sent == 6
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == sorted(
        (f"guest{n}@example.jp", subject) for n in range(3) for subject in ("ご注文ありがとうございます", "お手入れ方法")
    )
