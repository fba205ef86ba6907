"""Personal data: erasing a contact on request (``manage.py stepmail_erase`` /
``privacy.erase_contact``) keeps anonymous counts; a retention setting prunes old delivery logs."""

import io
import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule, Success
from django_q.scheduler import scheduler

from stepmail_plugin.dispatch import BatchSender, TickResult, claim_batch, dispatch_due
from stepmail_plugin.models import (
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    Suppression,
)
from stepmail_plugin.privacy import erase_contact, prune_delivery_logs
from stepmail_plugin.sending import SendOutcome

from ..factories import make_sequence, make_user, place_order

STEPS = [{"subject": "{{ first_name }}様、ありがとう", "delay": 0}, {"subject": "3日後", "delay": 3}]


@pytest.fixture
def hanako():
    """A customer with one mail sent, one queued, an opt-out of another sequence and an order."""
    sequence = make_sequence(steps=STEPS)
    other = make_sequence("もう一つ", steps=[{"subject": "別のシナリオ", "delay": 1}])
    user = make_user(email="hanako@example.jp", first_name="花子", last_name="山田")
    place_order(user=user)
    dispatch_due()
    Suppression.objects.create(email="hanako@example.jp", sequence=other, reason="unsubscribed")
    place_order(guest_email="someone-else@example.jp")
    return Contact.objects.get(email="hanako@example.jp"), sequence


def personal_traces(*needles):
    """Every text our records hold, for a search of the person's data."""
    texts = []
    for contact in Contact.objects.all():
        texts += [contact.email, contact.first_name, contact.last_name, contact.consent_source]
    for enrollment in Enrollment.objects.all():
        texts += [enrollment.key, json.dumps(enrollment.context, ensure_ascii=False), enrollment.object_id]
    for delivery in Delivery.objects.all():
        texts += [delivery.to_email, delivery.subject, delivery.error]
    texts += list(Suppression.objects.values_list("email", flat=True))
    return [t for t in texts if any(n in (t or "") for n in needles)]


@pytest.mark.django_db
def test_erasing_a_contact_removes_personal_data_and_keeps_the_counts(hanako):
    contact, sequence = hanako
    sent_before = Delivery.objects.filter(status=DeliveryStatus.SENT, enrollment__sequence=sequence).count()
    assert personal_traces("hanako", "花子", "山田")

    result = erase_contact("Hanako@Example.jp ")

    assert result.found and result.cancelled_deliveries == 2 and result.ended_enrollments == 2
    assert personal_traces("hanako", "花子", "山田") == []
    contact.refresh_from_db()
    assert contact.email.endswith("@erased.invalid") and contact.user is None
    # Counts for reports survive: what was sent, to how many, of which step.
    assert Delivery.objects.filter(status=DeliveryStatus.SENT, enrollment__sequence=sequence).count() == sent_before
    assert Delivery.objects.filter(status=DeliveryStatus.CANCELLED, reason="erased").count() == 2
    assert set(Enrollment.objects.filter(contact=contact).values_list("status", "exit_reason")) == {
        (EnrollmentStatus.EXITED, "erased")
    }
    # Nothing more goes out to them; other customers are untouched.
    mail.outbox.clear()
    with time_machine.travel(timezone.now() + timedelta(days=5), tick=False):
        dispatch_due()
    assert {m.to[0] for m in mail.outbox} == {"someone-else@example.jp"}
    assert len(mail.outbox) == 3
    assert Contact.objects.filter(email="someone-else@example.jp").exists()


@pytest.mark.django_db
def test_erasing_twice_or_an_unknown_address_is_harmless(hanako):
    erase_contact("hanako@example.jp")
    assert erase_contact("hanako@example.jp").found is False
    assert erase_contact("nobody@example.jp").as_dict()["found"] is False


@pytest.mark.django_db
def test_opt_outs_can_be_kept(hanako):
    erase_contact("hanako@example.jp", keep_suppression=True)
    assert Suppression.objects.filter(email="hanako@example.jp").count() == 1


@pytest.mark.django_db
def test_a_worker_holding_their_mail_neither_sends_nor_records_it(hanako):
    """Erased while a worker had claimed the queued mail, or was handing it to the ESP."""
    with time_machine.travel(timezone.now() + timedelta(days=4), tick=False):
        token = uuid.uuid4()
        assert claim_batch(token, 100) == 4  # two of hanako's mails, two of someone else's
        sender = BatchSender(token, TickResult())
        deliveries = sender.load()
        Delivery.objects.filter(claim_token=token).update(status=DeliveryStatus.SENDING)
        erase_contact("hanako@example.jp")
        outcomes = []
        for delivery in deliveries:  # …and the ESP answered for both
            delivery.to_email, delivery.subject = delivery.enrollment.contact.email, "3日後"
            outcomes.append((delivery, SendOutcome(True, "esp-1", "sent")))
        sender.record(outcomes)
    erased = Delivery.objects.filter(enrollment__contact__email__endswith="@erased.invalid")
    assert set(erased.exclude(step__title="{{ first_name }}様、ありがとう").values_list("status", "to_email", "reason")) == {
        (DeliveryStatus.CANCELLED, "", "erased")
    }
    assert erased.count() == 3  # nothing scheduled after the erased ones
    others = Delivery.objects.filter(enrollment__contact__email="someone-else@example.jp", claim_token=None)
    assert others.filter(status=DeliveryStatus.SENT).count() == 2
    assert others.filter(status=DeliveryStatus.SCHEDULED, step__title="3日後").count() == 1  # advanced
    assert personal_traces("hanako", "花子") == []


@pytest.mark.django_db
def test_the_erase_command(hanako):
    out = io.StringIO()
    call_command("stepmail_erase", "hanako@example.jp", "nobody@example.jp", stdout=out)
    assert "hanako@example.jp" in out.getvalue() and "nobody@example.jp" in out.getvalue()
    out = io.StringIO()
    call_command("stepmail_erase", "hanako@example.jp", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"hanako@example.jp": {
        "found": False, "cancelled_deliveries": 0, "scrubbed_deliveries": 0, "ended_enrollments": 0,
        "deleted_suppressions": 0,
    }}
    assert personal_traces("hanako", "花子") == []


@pytest.mark.django_db
def test_retention_prunes_old_delivery_logs(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "DELIVERY_RETENTION_DAYS": 30}
    make_sequence(steps=STEPS)
    long_ago = timezone.now() - timedelta(days=40)
    with time_machine.travel(long_ago, tick=False):
        place_order(guest_email="finished@example.jp")
        place_order(guest_email="running@example.jp")
        place_order(guest_email="waiting@example.jp")
        dispatch_due()  # the first mails go out 40 days ago
        Enrollment.objects.filter(contact__email="finished@example.jp").update(
            status=EnrollmentStatus.COMPLETED, ended_at=timezone.now()
        )
        Delivery.objects.filter(enrollment__contact__email="waiting@example.jp", step__delay_value=0).update(
            status=DeliveryStatus.UNCERTAIN
        )
    place_order(guest_email="recent@example.jp")
    dispatch_due()

    assert prune_delivery_logs() == {"deleted": 2, "scrubbed": 1}  # finished: its mail and its dead next step

    assert not Delivery.objects.filter(enrollment__contact__email="finished@example.jp").exists()
    assert Enrollment.objects.filter(contact__email="finished@example.jp").exists()  # who was in it
    running = Delivery.objects.get(enrollment__contact__email="running@example.jp", step__delay_value=0)
    assert (running.to_email, running.subject) == ("", "")  # kept, it says step 1 went out
    waiting = Delivery.objects.get(enrollment__contact__email="waiting@example.jp", step__delay_value=0)
    assert waiting.status == DeliveryStatus.UNCERTAIN  # a person has yet to look at it
    recent = Delivery.objects.get(enrollment__contact__email="recent@example.jp", step__delay_value=0)
    assert recent.to_email == "recent@example.jp"
    assert prune_delivery_logs() == {"deleted": 0, "scrubbed": 0}


@pytest.mark.django_db
def test_retention_is_off_by_default_and_runs_daily_on_q2(settings):
    make_sequence(steps=STEPS)
    with time_machine.travel(timezone.now() - timedelta(days=4000), tick=False):
        place_order(guest_email="old@example.jp")
        dispatch_due()
    assert prune_delivery_logs() == {"deleted": 0, "scrubbed": 0}

    settings.STEPMAIL = {**settings.STEPMAIL, "DELIVERY_RETENTION_DAYS": 365}
    call_command("stepmail_setup", stdout=io.StringIO())
    schedule = Schedule.objects.get(name="stepmail.retention")
    assert (schedule.func, schedule.minutes) == ("stepmail_plugin.tasks.prune_delivery_logs", 24 * 60)
    Schedule.objects.update(next_run=timezone.now() - timedelta(seconds=1))
    scheduler()
    assert Success.objects.get(func="stepmail_plugin.tasks.prune_delivery_logs").result == {"deleted": 0, "scrubbed": 1}
