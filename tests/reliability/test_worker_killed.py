"""A worker SIGKILLed in the middle of a batch, then restarted: every delivery goes out once.

The dangerous moment is between the ESP accepting a message and our commit of the chunk. On the
same machine the send journal settles the chunk exactly (only the one message in flight stays
``uncertain``); without the journal (the worker's machine is gone) the chunk becomes
``uncertain`` and is settled by a person from the ESP's log. Never resent blindly.
(A marketing-automation tool in this field treated a lock as dead after 30 minutes and sent 6
copies.)
"""

import signal
import time
from datetime import timedelta

import pytest

from stepmail_plugin.models import Delivery, DeliveryStatus
from stepmail_plugin.uncertain import resolve_uncertain

from .conftest import finish, make_due, report, start_dispatch, statuses

TWO_STEPS = [{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}]


def first_step_ids():
    return set(Delivery.objects.filter(step__title="当日").values_list("pk", flat=True))


def settle_from_esp_log(esp):
    """What the operator does with the uncertain ones: look each up in the ESP's log."""
    accepted = set(esp.sent_ids())
    uncertain = list(Delivery.objects.filter(status=DeliveryStatus.UNCERTAIN).values_list("pk", flat=True))
    resolve_uncertain([pk for pk in uncertain if pk in accepted], sent=True)
    resolve_uncertain([pk for pk in uncertain if pk not in accepted], sent=False)
    return uncertain


@pytest.mark.django_db(transaction=True)
def test_killed_right_after_the_esp_accepted_then_restarted(esp, worker_env):
    make_due(300, steps=TWO_STEPS)
    expected = first_step_ids()
    # Killed in its second batch, in the middle of a chunk, just after the ESP took mail 130.
    code, _data, _err = finish(start_dispatch(worker_env(kill_after=130)))
    assert code == -signal.SIGKILL
    assert esp.counts(expected)["sent"] == 130
    assert statuses()[DeliveryStatus.SENDING] == 50  # the chunk it was sending when it died

    code, data, err = finish(start_dispatch(worker_env()))  # restarted on the same machine
    assert code == 0, err

    counts = esp.counts(expected)
    uncertain = Delivery.objects.filter(status=DeliveryStatus.UNCERTAIN)
    report("SIGKILL after ESP accepted, restart with journal", deliveries=300, **counts,
           recovered=data["recovered"], uncertain=uncertain.count())
    assert (counts["sent"], counts["duplicates"], counts["lost"]) == (300, 0, 0)
    # Only the message in flight is in doubt, and the ESP did get it: never resent.
    assert [d.pk for d in uncertain] == [int(esp.lines()[129][1])]
    assert data["recovered"] == 100  # its two unfinished chunks, settled from the journal
    assert statuses()[DeliveryStatus.SENT] == 299
    # Enrollments moved on: the next step is scheduled for every mail recorded as sent.
    assert Delivery.objects.filter(step__title="3日後", status=DeliveryStatus.SCHEDULED).count() == 299

    settle_from_esp_log(esp)
    assert Delivery.objects.filter(step__title="3日後").count() == 300
    assert esp.counts(expected)["duplicates"] == 0


@pytest.mark.django_db(transaction=True)
def test_killed_at_an_arbitrary_moment_then_restarted(esp, worker_env):
    make_due(600, steps=TWO_STEPS)
    expected = first_step_ids()
    worker = start_dispatch(worker_env())
    while len(esp.lines()) < 150 and worker.poll() is None:
        time.sleep(0.005)
    worker.send_signal(signal.SIGKILL)
    code, _data, _err = finish(worker)
    assert code == -signal.SIGKILL, "the worker finished before it could be killed"
    accepted_before_restart = len(esp.lines())

    code, data, err = finish(start_dispatch(worker_env()))
    assert code == 0, err
    counts = esp.counts(expected)
    uncertain = settle_from_esp_log(esp)
    finish(start_dispatch(worker_env()))
    final = esp.counts(expected)
    report("SIGKILL at a random moment, restart with journal", deliveries=600,
           killed_after=accepted_before_restart, **final, uncertain=len(uncertain))
    assert counts["duplicates"] == 0
    assert len(uncertain) <= 1  # at most the one message in flight
    assert (final["sent"], final["duplicates"], final["lost"]) == (600, 0, 0)
    assert statuses()[DeliveryStatus.SENT] == 600


@pytest.mark.django_db(transaction=True)
def test_killed_and_restarted_elsewhere_without_the_journal(esp, worker_env, tmp_path):
    make_due(300, steps=TWO_STEPS)
    expected = first_step_ids()
    code, _data, _err = finish(start_dispatch(worker_env(kill_after=130)))
    assert code == -signal.SIGKILL

    # Another machine: it cannot read the dead worker's journal and waits for the lease.
    elsewhere = worker_env({"JOURNAL_DIR": str(tmp_path / "other-machine"), "LEASE_SECONDS": 2})
    time.sleep(2.2)
    code, data, err = finish(start_dispatch(elsewhere))
    assert code == 0, err
    counts = esp.counts(expected)
    assert counts["duplicates"] == 0
    assert data["uncertain"] == 50  # the chunk it was sending
    assert data["released"] >= 50  # the chunk it had claimed but not started
    assert counts["lost"] == 20  # never handed over, but nobody can know that: uncertain

    uncertain = settle_from_esp_log(esp)
    finish(start_dispatch(elsewhere))
    final = esp.counts(expected)
    report("SIGKILL after ESP accepted, restart elsewhere (no journal)", deliveries=300,
           uncertain_before_review=len(uncertain), **final)
    assert len(uncertain) == 50
    assert (final["sent"], final["duplicates"], final["lost"]) == (300, 0, 0)
    assert statuses()[DeliveryStatus.SENT] == 300
    assert Delivery.objects.filter(step__title="3日後").count() == 300


@pytest.mark.django_db(transaction=True)
def test_a_journal_from_before_a_reboot_is_not_believed(esp, worker_env):
    """After a machine crash the page cache (the journal's last lines) may be lost: its rows
    follow the lease rules instead, so nothing is resent on the strength of a partial journal."""
    make_due(300, steps=TWO_STEPS)
    code, _data, _err = finish(start_dispatch(worker_env(kill_after=130)))
    assert code == -signal.SIGKILL
    (journal,) = esp.journal_dir.glob("*.journal")
    header, rest = journal.read_text().split("\n", 1)
    journal.write_text(header.rsplit(" ", 1)[0] + " 00000000-0000-0000-0000-000000000000\n" + rest)

    code, data, err = finish(start_dispatch(worker_env({"LEASE_SECONDS": 3600})))
    assert code == 0, err
    assert data["recovered"] == 0
    assert statuses()[DeliveryStatus.SENDING] == 50  # waits for the lease, then uncertain
    assert statuses()[DeliveryStatus.CLAIMED] == 50
    assert esp.counts(first_step_ids())["duplicates"] == 0
    assert not list(esp.journal_dir.glob("*.journal"))


@pytest.mark.django_db
def test_uncertain_deliveries_are_settled_once(esp):
    """Two people settling the same delivery at once cannot send it twice."""
    make_due(2, steps=TWO_STEPS)
    first, second = Delivery.objects.filter(step__title="当日").order_by("pk")
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(status=DeliveryStatus.UNCERTAIN)
    assert resolve_uncertain([first.pk], sent=False) == 1
    assert resolve_uncertain([first.pk], sent=True) == 0  # no longer uncertain
    assert resolve_uncertain([second.pk], sent=True) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (DeliveryStatus.SCHEDULED, DeliveryStatus.SENT)
    assert Delivery.objects.filter(step__title="3日後").count() == 1
    assert first.due_at <= second.sent_at + timedelta(seconds=1)
