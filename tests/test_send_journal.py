"""The send journal settles the batch of a worker that died mid-chunk, and only then. (The fault
tests in tests/reliability kill real processes; these check the rules in one process.)"""

import io
import uuid

import pytest
from django.core import mail
from django.utils import translation
from django.core.management import call_command

from stepmail_plugin import journal
from stepmail_plugin.dispatch import TickResult, claim_batch, dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus

from .factories import make_sequence, place_order

STEPS = [{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}]


@pytest.fixture
def journal_dir(settings, tmp_path):
    settings.STEPMAIL = {**settings.STEPMAIL, "JOURNAL_DIR": str(tmp_path)}
    return tmp_path


def died_while_sending(count=4):
    """A worker claimed ``count`` first steps, moved them to sending and died: what it leaves."""
    make_sequence(steps=STEPS)
    for n in range(count):
        place_order(guest_email=f"c{n}@example.jp")
    token = uuid.uuid4()
    assert claim_batch(token, 100) == count
    ids = list(Delivery.objects.filter(claim_token=token).order_by("pk").values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.SENDING)
    return token, ids


def test_a_dead_workers_journal_is_settled_exactly(journal_dir):
    token, (accepted, refused, in_flight, untouched) = died_while_sending()
    written = journal.Journal.open(token)
    for pk in (accepted, refused, in_flight):
        written.handing(pk)
    written.answered(accepted, type("Outcome", (), {"ok": True, "message_id": "esp-1", "esp_status": "sent"})())
    written.answered(refused, type("Outcome", (), {"ok": False})())
    written.close(done=False)  # the process is gone: its lock with it

    result = dispatch_due()

    status = dict(Delivery.objects.filter(pk__in=[accepted, refused, in_flight, untouched]).values_list("pk", "status"))
    assert status == {accepted: DeliveryStatus.SENT, refused: DeliveryStatus.SENT,
                      in_flight: DeliveryStatus.UNCERTAIN, untouched: DeliveryStatus.SENT}
    assert Delivery.objects.get(pk=accepted).esp_message_id == "esp-1"
    # Refused and never handed over went out with this tick; the accepted one was not resent.
    assert sorted(m.to[0] for m in mail.outbox) == ["c1@example.jp", "c3@example.jp"]
    assert result.recovered == 4 and result.uncertain == 1
    assert Delivery.objects.filter(step__title="3日後").count() == 3  # enrollments moved on
    assert not list(journal_dir.iterdir())


def test_a_live_workers_journal_is_left_alone(journal_dir):
    token, ids = died_while_sending(2)
    held = journal.Journal.open(token)  # its writer is alive: the lock is held
    held.handing(ids[0])
    assert journal.recover(TickResult()) == 0
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {DeliveryStatus.SENDING}
    held.close(done=True)


def test_a_journal_from_another_boot_is_not_believed(journal_dir):
    token, ids = died_while_sending(2)
    (journal_dir / f"{token}.journal").write_text(f"{journal.MAGIC} another-boot\nH {ids[0]}\n")
    assert journal.recover(TickResult()) == 0
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {DeliveryStatus.SENDING}
    assert not list(journal_dir.iterdir())  # dropped: its rows follow the lease rules


def test_without_the_journal_a_batch_still_sends(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "SEND_JOURNAL": False}
    make_sequence(steps=STEPS)
    place_order(guest_email="c@example.jp")
    assert dispatch_due().sent == 1


@pytest.mark.django_db
def test_uncertain_deliveries_are_listed_and_settled_by_command():
    make_sequence(steps=STEPS)
    place_order(guest_email="gone@example.jp")
    place_order(guest_email="never@example.jp")
    Delivery.objects.update(status=DeliveryStatus.UNCERTAIN, reason="worker_stopped")
    gone = Delivery.objects.get(enrollment__contact__email="gone@example.jp")
    never = Delivery.objects.get(enrollment__contact__email="never@example.jp")

    out = io.StringIO()
    call_command("stepmail_uncertain", stdout=out)
    assert f"{gone.pk}\tgone@example.jp" in out.getvalue()
    assert f"<stepmail.{gone.pk}." in out.getvalue()  # what to search the ESP's log for

    call_command("stepmail_uncertain", "--mark-sent", str(gone.pk), stdout=io.StringIO())
    call_command("stepmail_uncertain", "--resend", str(never.pk), stdout=io.StringIO())
    gone.refresh_from_db()
    assert gone.status == DeliveryStatus.SENT
    assert Delivery.objects.filter(enrollment=gone.enrollment, step__title="3日後").exists()
    dispatch_due()
    assert [m.to[0] for m in mail.outbox] == ["never@example.jp"]
    # Nothing left to settle: the operator is told so rather than shown an empty screen.
    out = io.StringIO()
    with translation.override("ja"):
        call_command("stepmail_uncertain", stdout=out)
    assert out.getvalue().strip() == "送信状況が不確定の配信はありません（ESP に渡したメールはすべて結果が記録されています）。"


pytestmark = pytest.mark.django_db
