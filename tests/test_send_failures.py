"""One bad address, a flaky ESP or a broken step never stops the rest of the batch."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment, EnrollmentStatus, StepEmailPage

from . import esp
from .factories import make_sequence, place_order


@pytest.fixture
def flaky_esp(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "EMAIL_BACKEND": "tests.esp.FlakyEmailBackend"}
    esp.attempts.clear()
    return esp


def status_of(email):
    return Delivery.objects.get(enrollment__contact__email=email, step__delay_value=0)


@pytest.mark.django_db
def test_failures_are_recorded_and_the_rest_of_the_batch_goes_out(flaky_esp):
    make_sequence(steps=[{"subject": "ありがとう", "delay": 0}, {"subject": "3日後", "delay": 3}])
    for email in ["ok1@example.jp", "not-an-address", "rejected@example.jp", "transient@example.jp",
                  "down@example.jp", "ok2@example.jp"]:
        place_order(guest_email=email)

    result = dispatch_due()

    assert sorted(m.to[0] for m in mail.outbox if m.to[0].startswith("ok")) == ["ok1@example.jp", "ok2@example.jp"]
    assert (result.sent, result.failed, result.retried) == (2, 2, 2)
    invalid = status_of("not-an-address")
    assert (invalid.status, invalid.reason) == (DeliveryStatus.FAILED, "invalid_address")
    assert invalid.enrollment.status == EnrollmentStatus.EXITED
    rejected = status_of("rejected@example.jp")
    assert (rejected.status, rejected.reason) == (DeliveryStatus.FAILED, "rejected")
    transient = status_of("transient@example.jp")
    assert (transient.status, transient.reason, transient.attempts) == (DeliveryStatus.SCHEDULED, "esp_503", 1)
    assert "Service Unavailable" in transient.error
    assert timedelta(seconds=55) < transient.due_at - timezone.now() <= timedelta(seconds=60)
    down = status_of("down@example.jp")
    assert (down.status, down.reason) == (DeliveryStatus.SCHEDULED, "send_error")
    # The next step is scheduled for those that went out, not for the failed ones.
    assert Delivery.objects.filter(step__delay_value=3).count() == 2


@pytest.mark.django_db
def test_transient_errors_retry_with_backoff_until_sent_once(flaky_esp):
    make_sequence(steps=[{"subject": "ありがとう", "delay": 0}])
    place_order(guest_email="transient@example.jp")
    start = timezone.now()
    dispatch_due()  # 503
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert dispatch_due().claimed == 0  # backing off
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        dispatch_due()  # 503 again, next wait doubles
    delivery = Delivery.objects.get()
    assert delivery.attempts == 2 and delivery.status == DeliveryStatus.SCHEDULED
    assert timedelta(seconds=119) <= delivery.due_at - (start + timedelta(seconds=61)) <= timedelta(seconds=120)
    with time_machine.travel(start + timedelta(seconds=200), tick=False):
        dispatch_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.SENT, 3, "")
    assert flaky_esp.attempts["transient@example.jp"] == 3
    assert len([m for m in mail.outbox if m.anymail_status.status == {"sent"}]) == 1


@pytest.mark.django_db
def test_transient_errors_give_up_after_max_attempts(flaky_esp, settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "MAX_ATTEMPTS": 2}
    make_sequence(steps=[{"subject": "ありがとう", "delay": 0}])
    place_order(guest_email="down@example.jp")
    dispatch_due()
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        dispatch_due()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.reason) == (DeliveryStatus.FAILED, 2, "send_error")
    assert "Connection reset" in delivery.error
    assert Enrollment.objects.get().status == EnrollmentStatus.COMPLETED  # nothing left to send


@pytest.mark.django_db
@pytest.mark.usefixtures("english")
def test_a_step_that_cannot_render_is_recorded_and_does_not_stop_others():
    broken = make_sequence("壊れたシナリオ", steps=[{"subject": "壊れた件名", "delay": 0}])
    make_sequence("正常なシナリオ", steps=[{"subject": "正常", "delay": 0}])
    # Content that bypassed validation (e.g. written straight into the database).
    StepEmailPage.objects.child_of(broken).update(subject="{{ settings.SECRET_KEY }}")
    place_order(guest_email="customer@example.jp")

    result = dispatch_due()

    assert [m.subject for m in mail.outbox] == ["正常"]
    failed = Delivery.objects.get(enrollment__sequence=broken)
    assert failed.status == DeliveryStatus.SCHEDULED and failed.reason == "render_error"
    assert "is not a merge field" in failed.error
    assert "stepmail-tests-not-secret" not in failed.error
    assert result.sent == 1
