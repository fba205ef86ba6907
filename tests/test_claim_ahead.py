"""PostgreSQL: while a batch's last chunk renders and is sent, the tick's next batch is claimed by the record
writer's thread (dispatch.ClaimAhead), so the worker does not wait for that claim between
batches. Every mail still goes out once, and a batch claimed ahead that the tick does not send is
put back at once, not left claimed until its lease expires."""

import logging
import threading
import time

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from stepmail_plugin import dispatch
from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus

from .factories import make_sequence, place_order

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="batches are claimed ahead on PostgreSQL"),
    # Committed rows: the writer's own connection cannot see a test's open transaction.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def five_due(monkeypatch):
    """Five first mails due; returns the names of the threads that claimed each batch."""
    make_sequence(steps=[{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}])
    for n in range(5):
        place_order(guest_email=f"guest{n}@example.jp")
    claims = []
    real_claim = dispatch.claim_deliveries

    def claim_deliveries(token, limit, now=None, **kwargs):
        found = real_claim(token, limit, now, **kwargs)
        claims.append((threading.current_thread().name, len(found)))
        return found

    monkeypatch.setattr(dispatch, "claim_deliveries", claim_deliveries)
    return claims


def background(name: str) -> bool:
    return name.startswith("stepmail-record")


def test_full_batches_are_followed_by_a_claim_in_the_background(five_due):
    result = dispatch_due(batch_size=2)
    # Batches of 2, 2 and 1: the second and third were claimed while the one before was sent;
    # after the third (not full) the tick claims once more in line and finds nothing.
    assert [(background(name), count) for name, count in five_due] == [(False, 2), (True, 2), (True, 1), (False, 0)]
    assert (result.batches, result.sent, result.released) == (3, 5, 0)
    assert sorted(m.to[0] for m in mail.outbox) == [f"guest{n}@example.jp" for n in range(5)]
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 5
    assert not Delivery.objects.filter(claim_token__isnull=False).exists()


def test_a_batch_claimed_ahead_is_put_back_when_the_tick_runs_out_of_time(five_due, monkeypatch):
    real_send = dispatch.send

    def slow_send(message):
        outcome = real_send(message)
        time.sleep(0.6)  # past the tick's half second
        return outcome

    monkeypatch.setattr(dispatch, "send", slow_send)
    result = dispatch_due(batch_size=2, max_seconds=0.5)
    # The first mail went out; the second was not handed over; the two claimed ahead wait for
    # the next tick, not for their lease.
    assert [(background(name), count) for name, count in five_due] == [(False, 2), (True, 2)]
    assert (result.sent, result.released) == (1, 3)
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 1
    assert Delivery.objects.filter(status=DeliveryStatus.CLAIMED).count() == 0
    due = Delivery.objects.filter(due_at__lte=timezone.now())
    assert due.filter(status=DeliveryStatus.SCHEDULED, claim_token__isnull=True).count() == 4

    monkeypatch.setattr(dispatch, "send", real_send)
    assert dispatch_due(batch_size=2).sent == 4
    assert sorted(m.to[0] for m in mail.outbox) == [f"guest{n}@example.jp" for n in range(5)]


def test_a_batch_claimed_ahead_is_put_back_when_an_error_stops_the_tick(five_due, monkeypatch):
    def broken_record(self, outcomes, then_move=None, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(dispatch.BatchSender, "record", broken_record)
    with pytest.raises(RuntimeError):
        dispatch_due(batch_size=2)
    assert [(background(name), count) for name, count in five_due] == [(False, 2), (True, 2)]
    # The first batch went out unrecorded (its send journal keeps the answers for the next
    # tick); the batch claimed ahead is back in the queue with the last one.
    due = Delivery.objects.filter(due_at__lte=timezone.now())
    assert due.filter(status=DeliveryStatus.SENDING).count() == 2
    assert due.filter(status=DeliveryStatus.SCHEDULED, claim_token__isnull=True).count() == 3
    assert not due.filter(status=DeliveryStatus.CLAIMED).exists()


def test_a_failed_claim_in_the_background_is_claimed_again_in_line(five_due, monkeypatch, caplog):
    claim = dispatch.claim_deliveries
    failed = []

    def failing_once(token, limit, now=None, **kwargs):
        if background(threading.current_thread().name) and not failed:
            failed.append(token)
            raise dispatch.OperationalError("server closed the connection unexpectedly")
        return claim(token, limit, now, **kwargs)

    monkeypatch.setattr(dispatch, "claim_deliveries", failing_once)
    with caplog.at_level(logging.ERROR, logger="stepmail_plugin.dispatch"):
        result = dispatch_due(batch_size=2)
    assert "claiming the next batch in the background failed" in caplog.text
    assert result.sent == 5
    assert sorted(m.to[0] for m in mail.outbox) == [f"guest{n}@example.jp" for n in range(5)]


@override_settings(STEPMAIL={"RECORD_IN_BACKGROUND": False})
def test_batches_are_claimed_in_line_when_the_background_thread_is_switched_off(five_due):
    assert dispatch_due(batch_size=2).sent == 5
    assert not any(background(name) for name, _ in five_due)
