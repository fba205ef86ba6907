"""Holdout groups: held-out customers receive nothing, stay held out, and are measured."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, Enrollment, EnrollmentOrder, EnrollmentStatus, SequencePage
from stepmail_plugin.tracking.holdout import in_holdout
from stepmail_plugin.tracking.uplift import holdout_uplift

from .factories import make_sequence, place_order, run_follow_ups

pytestmark = pytest.mark.django_db


def holdout_sequence(percent):
    sequence = make_sequence(steps=[{"subject": "ありがとう", "delay": 0}])
    SequencePage.objects.filter(pk=sequence.pk).update(holdout_percent=percent)
    return sequence


def test_held_out_customers_get_nothing_and_the_share_is_as_set():
    holdout_sequence(30)
    for i in range(40):
        place_order(guest_email=f"c{i}@example.jp")
    dispatch_due()
    held = Enrollment.objects.filter(holdout=True)
    expected = [e.pk for e in Enrollment.objects.all() if in_holdout(e.sequence_id, e.contact_id, 30)]
    assert sorted(held.values_list("pk", flat=True)) == sorted(expected)
    assert 5 <= held.count() <= 20  # about 30 % of 40
    assert not Delivery.objects.filter(enrollment__holdout=True).exists()
    assert {e.status for e in held} == {EnrollmentStatus.COMPLETED}
    assert {e.exit_reason for e in held} == {"holdout"}
    mailed = {m.to[0] for m in mail.outbox}
    assert mailed == set(Enrollment.objects.filter(holdout=False).values_list("contact__email", flat=True))
    assert len(mailed) == 40 - held.count()


def test_assignment_is_per_contact_and_only_grows_with_the_share():
    ids = range(1, 2001)
    ten = {c for c in ids if in_holdout(7, c, 10)}
    twenty = {c for c in ids if in_holdout(7, c, 20)}
    assert ten <= twenty
    assert 150 <= len(ten) <= 250 and 330 <= len(twenty) <= 470
    assert not any(in_holdout(7, c, 0) for c in ids)


def test_a_held_out_customer_who_orders_again_stays_held_out_and_their_order_is_counted():
    holdout_sequence(50)
    emails = [f"h{i}@example.jp" for i in range(12)]
    for email in emails:
        place_order(guest_email=email)
    held = Enrollment.objects.filter(holdout=True).select_related("contact").first()
    assert held is not None
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        place_order(guest_email=held.contact.email, price=Decimal("6000"))
        run_follow_ups()  # the dispatcher's next tick records the order
    again = Enrollment.objects.filter(contact=held.contact).exclude(pk=held.pk).get()
    assert again.holdout  # same person, same group
    assert EnrollmentOrder.objects.get(enrollment=held).amount == Decimal("6000.00")


def test_uplift_compares_mailed_and_held_out_contacts():
    sequence = holdout_sequence(50)
    for i in range(30):
        place_order(guest_email=f"u{i}@example.jp")
    mailed = list(Enrollment.objects.filter(holdout=False).select_related("contact"))
    held = list(Enrollment.objects.filter(holdout=True).select_related("contact"))
    # Half of the mailed and one held-out customer order again within the window.
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        for enrollment in mailed[: len(mailed) // 2]:
            place_order(guest_email=enrollment.contact.email, price=Decimal("3000"))
        place_order(guest_email=held[0].contact.email, price=Decimal("3000"))
        run_follow_ups()  # the dispatcher's next tick records the orders
    uplift = holdout_uplift(sequence.pk, since=timezone.now() - timedelta(days=1),
                            until=timezone.now() + timedelta(hours=1))
    assert (uplift.mailed.enrollments, uplift.held_out.enrollments) == (len(mailed), len(held))
    assert (uplift.mailed.converted, uplift.held_out.converted) == (len(mailed) // 2, 1)
    assert uplift.conversion_difference == pytest.approx(len(mailed) // 2 / len(mailed) - 1 / len(held))
    assert uplift.mailed.revenue == Decimal("3000") * (len(mailed) // 2)
    assert uplift.revenue_difference == pytest.approx(3000 * (len(mailed) // 2) / len(mailed) - 3000 / len(held))
    low, high = uplift.conversion_interval
    assert low < uplift.conversion_difference < high
