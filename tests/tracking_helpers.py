"""Builders for tracking tests: sent deliveries and ESP webhook posts in Postmark's format."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from django.core import mail

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus

from .factories import make_sequence, place_order

AUTH = "esp:webhook-secret"
POSTMARK_URL = "/anymail/postmark/tracking/"


def sent_delivery(email: str = "hanako@example.jp", *, steps=None, **sequence_kwargs) -> Delivery:
    """A sequence (two steps unless given), an order by ``email`` and its first mail sent."""
    from stepmail_plugin.models import SequencePage

    if not SequencePage.objects.exists():
        make_sequence(steps=steps or [{"subject": "ありがとう", "delay": 0}, {"subject": "3日後", "delay": 3}],
                      **sequence_kwargs)
    place_order(guest_email=email)
    dispatch_due()
    return Delivery.objects.get(enrollment__contact__email=email, status=DeliveryStatus.SENT)


def basic_auth(credentials: str = AUTH) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def postmark(kind: str, delivery: Delivery | None, at: datetime, *, message_id=None, metadata=True, **extra) -> dict:
    """A Postmark webhook payload: kind is Delivery, Open, Click, Bounce, SpamComplaint or Unsubscribe."""
    payload: dict = {"MessageID": message_id if message_id is not None else delivery.esp_message_id,
                     "Recipient": delivery.to_email if delivery else "x@example.jp"}
    if metadata and delivery is not None:
        payload["Metadata"] = {"stepmail_delivery_id": str(delivery.pk)}
    if kind == "Delivery":
        payload.update(RecordType="Delivery", DeliveredAt=iso(at), Details="250 OK")
    elif kind == "Open":
        payload.update(RecordType="Open", ReceivedAt=iso(at), UserAgent="Mozilla/5.0")
    elif kind == "Click":
        payload.update(RecordType="Click", ReceivedAt=iso(at), OriginalLink=extra.pop("link", "https://shop.example.jp/"))
    elif kind == "Bounce":
        payload.update(RecordType="Bounce", Type="HardBounce", ID=extra.pop("id", 4242), BouncedAt=iso(at),
                       Email=payload["Recipient"], Description="The server was unable to deliver your message")
    elif kind == "SpamComplaint":
        payload.update(RecordType="SpamComplaint", Type="SpamComplaint", ID=extra.pop("id", 777),
                       BouncedAt=iso(at), Email=payload["Recipient"])
    elif kind == "Unsubscribe":
        payload.update(RecordType="SubscriptionChange", ChangedAt=iso(at), SuppressSending=True,
                       SuppressionReason="ManualSuppression")
    payload.update(extra)
    return payload


def post(client, payload, *, auth: str | None = AUTH, url: str = POSTMARK_URL):
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    headers = basic_auth(auth) if auth else {}
    return client.post(url, data=body, content_type="application/json", **headers)


def clear_outbox() -> None:
    mail.outbox = []


def esp_event(delivery: Delivery, kind: str, at: datetime, **extra) -> None:
    """An event through anymail's ``tracking`` signal, as any ESP's webhook view sends it."""
    from anymail.signals import AnymailTrackingEvent, tracking

    event = AnymailTrackingEvent(
        event_type=kind, timestamp=at, message_id=delivery.esp_message_id,
        metadata={"stepmail_delivery_id": str(delivery.pk)}, recipient=delivery.to_email, **extra,
    )
    tracking.send(sender=object, event=event, esp_name="TestESP")
