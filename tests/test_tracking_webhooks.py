"""ESP events through anymail's real webhook view (Postmark's format): security, duplicates, order,
malformed bodies, bounces and complaints, and uncertain sends proven by events."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from stepmail_plugin.dispatch import recover_leases
from stepmail_plugin.models import (
    Contact,
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    EnrollmentStatus,
    Suppression,
    SuppressionReason,
)

from .tracking_helpers import post, postmark, sent_delivery

pytestmark = pytest.mark.django_db


def test_missing_or_wrong_basic_auth_is_refused_and_changes_nothing(client):
    delivery = sent_delivery()
    payload = postmark("Open", delivery, timezone.now())
    assert post(client, payload, auth=None).status_code == 400
    assert post(client, payload, auth="esp:wrong").status_code == 400
    assert post(client, payload, auth="intruder:webhook-secret").status_code == 400
    delivery.refresh_from_db()
    assert delivery.opened_at is None and not DeliveryEvent.objects.exists()
    assert post(client, payload).status_code == 200
    delivery.refresh_from_db()
    assert delivery.opened_at is not None


def test_a_repeated_event_changes_nothing(client):
    delivery = sent_delivery()
    at = timezone.now().replace(microsecond=0)
    for _ in range(3):
        assert post(client, postmark("Click", delivery, at, link="https://shop.example.jp/a")).status_code == 200
    delivery.refresh_from_db()
    assert DeliveryEvent.objects.filter(event_type="clicked").count() == 1
    assert (delivery.clicked_at, delivery.opened_at, delivery.esp_status) == (at, at, "clicked")


def test_events_out_of_order_give_the_same_result(client):
    delivery = sent_delivery()
    sent = delivery.sent_at
    delivered, opened, clicked = sent + timedelta(seconds=5), sent + timedelta(hours=1), sent + timedelta(hours=2)
    # Arrival order: click, a second open later than the click, delivery, the first open.
    post(client, postmark("Click", delivery, clicked))
    post(client, postmark("Open", delivery, clicked + timedelta(hours=3)))
    post(client, postmark("Delivery", delivery, delivered))
    post(client, postmark("Open", delivery, opened))
    delivery.refresh_from_db()
    assert delivery.opened_at == opened  # the first open, though it arrived last
    assert delivery.clicked_at == clicked
    assert delivery.esp_status == "clicked"  # "delivered" arriving late does not downgrade it
    assert delivery.status == DeliveryStatus.SENT
    assert DeliveryEvent.objects.filter(delivery=delivery).count() == 4


@pytest.mark.parametrize("body", [b"this is not json", b"[1, 2, 3]", b'{"RecordType": "Open", "ReceivedAt": 12}', b""])
def test_malformed_bodies_are_refused_logged_and_change_nothing(client, caplog, body):
    delivery = sent_delivery()
    with caplog.at_level(logging.WARNING):
        response = post(client, body)
    assert response.status_code == 400
    assert "malformed Postmark webhook body" in caplog.text
    assert not DeliveryEvent.objects.exists()
    delivery.refresh_from_db()
    assert (delivery.opened_at, delivery.esp_status) == (None, "sent")


def test_events_match_by_message_id_without_metadata_and_others_are_ignored(client):
    delivery = sent_delivery()
    at = timezone.now()
    assert post(client, postmark("Open", delivery, at, metadata=False)).status_code == 200
    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    # A mail that is not ours (e.g. the shop's order confirmation): accepted, nothing recorded.
    assert post(client, postmark("Open", None, at, message_id="not-ours")).status_code == 200
    assert DeliveryEvent.objects.count() == 1


def test_a_hard_bounce_suppresses_the_address_and_stops_the_sequence(client):
    delivery = sent_delivery("gone@example.jp")
    following = Delivery.objects.get(status=DeliveryStatus.SCHEDULED)
    assert post(client, postmark("Bounce", delivery, timezone.now())).status_code == 200
    assert post(client, postmark("Bounce", delivery, timezone.now())).status_code == 200  # repeated
    contact = Contact.objects.get(email="gone@example.jp")
    assert contact.bounced_at is not None
    assert Suppression.objects.filter(email=contact.email, reason=SuppressionReason.BOUNCED).count() == 1
    following.refresh_from_db()
    assert (following.status, following.reason) == (DeliveryStatus.CANCELLED, "bounced")
    assert following.enrollment.status == EnrollmentStatus.EXITED
    assert following.enrollment.exit_reason == "bounced"


def test_a_complaint_stops_even_transactional_mail(client):
    delivery = sent_delivery("angry@example.jp", kind="transactional")
    post(client, postmark("SpamComplaint", delivery, timezone.now()))
    contact = Contact.objects.get(email="angry@example.jp")
    assert contact.complained_at is not None
    assert not contact.can_receive_transactional
    assert Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).count() == 0


def test_an_unsubscribe_at_the_esp_unsubscribes_the_contact(client):
    delivery = sent_delivery("bye@example.jp")
    post(client, postmark("Unsubscribe", delivery, timezone.now()))
    contact = Contact.objects.get(email="bye@example.jp")
    assert contact.unsubscribed_at is not None
    assert Delivery.objects.get(status=DeliveryStatus.CANCELLED).reason == "unsubscribed"


def test_an_event_proves_an_uncertain_delivery_was_sent_and_the_sequence_goes_on(client):
    delivery = sent_delivery()
    # Pretend the worker died between handing the mail over and recording it.
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING, sent_at=None, esp_message_id="",
                                                   claimed_at=timezone.now() - timedelta(hours=1))
    Delivery.objects.exclude(pk=delivery.pk).delete()
    recover_leases()
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.UNCERTAIN
    at = timezone.now()
    post(client, postmark("Delivery", delivery, at, message_id="pm-123"))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.esp_message_id) == (DeliveryStatus.SENT, "pm-123")
    assert abs(delivery.sent_at - at) < timedelta(seconds=1)
    # The next step is scheduled, as after a normal send.
    assert Delivery.objects.filter(enrollment=delivery.enrollment, status=DeliveryStatus.SCHEDULED).count() == 1
