"""Staff pausing or cancelling an enrollment while a worker holds its delivery."""

import uuid

import pytest
from django.core import mail

from stepmail_plugin.dispatch import BatchSender, TickResult, claim_batch, dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment, EnrollmentStatus

from .factories import make_sequence, place_order


@pytest.fixture
def claimed():
    """A due delivery already claimed by a worker that has not sent it yet."""
    make_sequence(steps=[{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}])
    place_order(guest_email="guest@example.jp")
    token = uuid.uuid4()
    assert claim_batch(token, 10) == 1
    return token


@pytest.mark.django_db
def test_a_cancelled_enrollment_gets_no_mail_and_no_next_step(claimed):
    Enrollment.objects.update(status=EnrollmentStatus.CANCELLED)
    BatchSender(claimed, TickResult()).run()
    assert mail.outbox == []
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason) == (DeliveryStatus.SKIPPED, "enrollment_cancelled")


@pytest.mark.django_db
def test_a_paused_enrollment_keeps_its_step_for_when_it_resumes(claimed):
    Enrollment.objects.update(status=EnrollmentStatus.PAUSED)
    BatchSender(claimed, TickResult()).run()
    assert mail.outbox == []
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.claim_token) == (DeliveryStatus.SCHEDULED, 0, None)
    Enrollment.objects.update(status=EnrollmentStatus.ACTIVE)
    assert dispatch_due().sent == 1
    assert [m.subject for m in mail.outbox] == ["当日"]
