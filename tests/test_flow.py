"""Staff actions on one enrollment: pause, resume, cancel, move to another sequence."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.flow import cancel_enrollment, move_enrollment, pause_enrollment, resume_enrollment
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment, EnrollmentStatus

from .builders import make_product, order_of
from .factories import make_sequence

STEPS = [{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}, {"subject": "7日後", "delay": 7}]


def at(start, **delta):
    return time_machine.travel(start + timedelta(**delta), tick=False)


@pytest.mark.django_db
def test_a_pause_shifts_the_rest_of_the_schedule_by_its_length():
    make_sequence(steps=STEPS)
    start = timezone.now()
    with at(start):
        order_of(make_product(), guest_email="guest@example.jp")
        dispatch_due()
    enrollment = Enrollment.objects.get()
    with at(start, days=1):
        pause_enrollment(enrollment)
    with at(start, days=4):
        assert dispatch_due().claimed == 0  # paused: nothing goes
    with at(start, days=6):
        resume_enrollment(enrollment)  # paused for five days
    assert Delivery.objects.get(step__title="3日後").due_at == start + timedelta(days=8)
    with at(start, days=8, minutes=1):
        dispatch_due()
    with at(start, days=12, minutes=1):
        dispatch_due()
    assert [m.subject for m in mail.outbox] == ["当日", "3日後", "7日後"]
    assert Delivery.objects.get(step__title="7日後").sent_at == start + timedelta(days=12, minutes=1)
    assert resume_enrollment(enrollment).status == EnrollmentStatus.COMPLETED  # harmless twice


@pytest.mark.django_db
def test_cancelling_stops_what_was_queued():
    make_sequence(steps=STEPS)
    start = timezone.now()
    order_of(make_product(), guest_email="guest@example.jp")
    dispatch_due()
    enrollment = Enrollment.objects.get()
    assert cancel_enrollment(enrollment) == 1  # the queued "3日後" mail
    assert cancel_enrollment(enrollment) is None  # already ended: nothing changes
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.CANCELLED, "cancelled_by_staff")
    assert Delivery.objects.get(step__title="3日後").status == DeliveryStatus.CANCELLED
    with at(start, days=8):
        dispatch_due()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_moving_a_contact_to_another_sequence():
    make_sequence("一般", steps=STEPS)
    vip = make_sequence("VIP", "custom", steps=[{"subject": "VIPのご案内", "delay": 0}, {"subject": "VIP 2", "delay": 2}])
    order = order_of(make_product(), guest_email="guest@example.jp")
    dispatch_due()
    old = Enrollment.objects.get()
    moved = move_enrollment(old, vip)
    old.refresh_from_db()
    assert (old.status, old.exit_reason) == (EnrollmentStatus.CANCELLED, "moved")
    assert (moved.sequence_id, moved.contact_id, moved.trigger_object) == (vip.pk, old.contact_id, order)
    dispatch_due()
    assert [m.subject for m in mail.outbox] == ["当日", "VIPのご案内"]
    assert move_enrollment(old, vip) is None  # already moved


@pytest.mark.django_db
def test_moving_to_an_unpublished_sequence_changes_nothing():
    make_sequence("一般", steps=STEPS)
    draft = make_sequence("下書き", steps=[{"subject": "x"}], publish=False)
    order_of(make_product(), guest_email="guest@example.jp")
    enrollment = Enrollment.objects.get()
    assert move_enrollment(enrollment, draft) is None
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE
