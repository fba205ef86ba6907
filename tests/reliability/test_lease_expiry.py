"""A worker's lease expires while it is still working (one ESP call hangs far longer than the
lease): another worker takes over what it had not started, nothing is sent twice, and the slow
worker's own result still counts."""

import time

import pytest

from stepmail_plugin.models import Delivery, DeliveryStatus

from .conftest import finish, make_due, report, start_dispatch, statuses

LEASE = 2


@pytest.mark.django_db(transaction=True)
def test_a_lease_that_expires_during_a_long_batch(esp, worker_env, tmp_path):
    make_due(200)
    expected = set(Delivery.objects.values_list("pk", flat=True))
    gate = tmp_path / "let-the-esp-answer"

    slow = start_dispatch(worker_env({"LEASE_SECONDS": LEASE}, gate=gate), "--batch-size", "200")
    while not esp.lines("W"):  # its first ESP call is hanging
        assert slow.poll() is None, slow.communicate()
        time.sleep(0.05)
    time.sleep(LEASE + 0.5)  # …for longer than its lease

    code, other, err = finish(start_dispatch(worker_env({"LEASE_SECONDS": LEASE})))
    assert code == 0, err
    # The other worker released what the slow one had claimed but not started, and sent it;
    # the chunk the slow one was sending looked abandoned: uncertain, not resent.
    assert other["sent"] == 150
    assert other["uncertain"] == 50

    gate.touch()  # the hanging call returns: the ESP took that one message
    code, first, err = finish(slow)
    assert code == 0, err

    counts = esp.counts(expected)
    report("lease expired during a long batch", deliveries=200, **counts,
           taken_over=first["lost_claims"], uncertain=statuses()[DeliveryStatus.UNCERTAIN])
    # The slow worker stopped handing over once past half its lease, recorded its one mail over
    # the "uncertain" mark (it knows the answer), put back the rest and sent them itself later,
    # and skipped the chunks the other worker had taken.
    assert first["lost_claims"] == 150
    assert first["sent"] == 50
    assert (counts["sent"], counts["duplicates"], counts["lost"]) == (200, 0, 0)
    assert statuses() == {DeliveryStatus.SENT: 200}


@pytest.mark.django_db
def test_a_tick_stops_handing_over_at_its_deadline_even_inside_a_batch(esp, monkeypatch):
    """django-q2 kills a task that outlives Q_CLUSTER["timeout"]; a tick checks its time before
    every message, not only between batches, so a slow ESP cannot drag it past the timeout."""
    from stepmail_plugin.dispatch import dispatch_due

    make_due(100)
    monkeypatch.setenv("STEPMAIL_TEST_ESP_DELAY", "0.05")
    result = dispatch_due(max_seconds=0.5)
    assert result.batches == 1 and result.claimed == 100
    assert 0 < result.sent < 100
    assert result.released == 100 - result.sent
    assert statuses() == {DeliveryStatus.SENT: result.sent, DeliveryStatus.SCHEDULED: 100 - result.sent}
    assert not Delivery.objects.exclude(claim_token=None).exists()
    assert not list(esp.journal_dir.glob("*.journal"))
