"""PostgreSQL, after Oscar's checkout committed (as in a real shop): enrollment writes the new
contact, its enrollments, their first mails and the order's follow-up work in one statement,
without a transaction around it. What a customer and the shop notice stays the same: the first
mail is scheduled, the purchase's follow-up work is queued, and a suppressed address gets
nothing but still has its follow-up work."""

import pytest
from django.db import connection

from stepmail_plugin.models import Contact, Delivery, DeliveryStatus, Enrollment, FollowUp, Suppression
from stepmail_plugin.models.records import SuppressionReason

from .factories import make_sequence, place_order

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement enrollment is PostgreSQL's"),
    # Committed rows: the enrollment runs once Oscar's transaction has committed, outside any.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def sequence():
    return make_sequence(steps=[{"subject": "ご購入ありがとうございます", "delay": 0}, {"subject": "3日後", "delay": 3}])


def test_a_new_guest_is_enrolled_with_the_first_mail_and_the_follow_up_queued(sequence):
    order = place_order(guest_email="Hanako@Example.jp")
    contact = Contact.objects.get(email="hanako@example.jp")
    enrollment = Enrollment.objects.get(contact=contact, sequence=sequence)
    assert enrollment.object_id == str(order.pk)
    assert [(d.status, d.step.title) for d in enrollment.deliveries.all()] == [
        (DeliveryStatus.SCHEDULED, "ご購入ありがとうございます")
    ]
    assert FollowUp.objects.filter(kind="order_placed", object_id=str(order.pk)).count() == 1


def test_a_second_order_of_the_same_customer_enrolls_again_once(sequence):
    place_order(guest_email="taro@example.jp")
    second = place_order(guest_email="taro@example.jp")
    assert Contact.objects.filter(email="taro@example.jp").count() == 1
    assert Enrollment.objects.filter(contact__email="taro@example.jp").count() == 2
    assert Delivery.objects.filter(enrollment__object_id=str(second.pk)).count() == 1
    assert FollowUp.objects.filter(object_id=str(second.pk)).count() == 1


def test_a_suppressed_address_gets_no_mail_but_its_follow_up_work_is_kept(sequence):
    Suppression.objects.create(email="blocked@example.jp", reason=SuppressionReason.MANUAL)
    order = place_order(guest_email="blocked@example.jp")
    assert Contact.objects.filter(email="blocked@example.jp").exists()
    assert not Enrollment.objects.filter(contact__email="blocked@example.jp").exists()
    assert not Delivery.objects.exists()
    assert FollowUp.objects.filter(kind="order_placed", object_id=str(order.pk)).count() == 1
