"""Simulated opens, clicks, bounces, unsubscribes and orders for sent mails, fed through anymail's
real ``tracking`` signal or its real webhook view, so a demo shop's reports fill up exactly as
they would with an ESP. Used by ``manage.py stepmail_simulate_events``."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.test import RequestFactory
from django.utils import timezone

from ..models import Delivery, DeliveryStatus
from .attribution import attribute_order


@dataclass
class Rates:
    open: float = 0.45  # of delivered mails
    click: float = 0.35  # of opened mails
    order: float = 0.25  # of clicked mails
    bounce: float = 0.02
    unsubscribe: float = 0.01


def _secret() -> str:
    secret = (getattr(settings, "ANYMAIL", {}) or {}).get("WEBHOOK_SECRET") or getattr(
        settings, "ANYMAIL_WEBHOOK_SECRET", "")
    return secret[0] if isinstance(secret, (list, tuple)) else (secret or "")


class Feeder:
    """Sends one event through the signal or through anymail's Postmark webhook view."""

    def __init__(self, via: str):
        self.via = via
        if via == "webhook":
            from anymail.webhooks.postmark import PostmarkTrackingWebhookView

            from .webhooks import tolerant

            self.view = tolerant(PostmarkTrackingWebhookView).as_view()
            self.factory = RequestFactory()
            self.auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(_secret().encode()).decode()}

    def __call__(self, delivery: Delivery, kind: str, at: datetime, url: str = "") -> None:
        if self.via == "webhook":
            self._post(delivery, kind, at, url)
            return
        from anymail.signals import AnymailTrackingEvent, tracking

        tracking.send(sender=Feeder, esp_name="Simulated", event=AnymailTrackingEvent(
            event_type=kind, timestamp=at, message_id=delivery.esp_message_id or None,
            event_id=f"sim-{delivery.pk}-{kind}", metadata={"stepmail_delivery_id": str(delivery.pk)},
            recipient=delivery.to_email, click_url=url or None, user_agent="stepmail-simulator",
        ))

    def _post(self, delivery: Delivery, kind: str, at: datetime, url: str) -> None:
        stamp = at.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")
        payload: dict[str, Any] = {
            "MessageID": delivery.esp_message_id, "Recipient": delivery.to_email,
            "Metadata": {"stepmail_delivery_id": str(delivery.pk)},
        }
        payload.update({
            "delivered": {"RecordType": "Delivery", "DeliveredAt": stamp},
            "opened": {"RecordType": "Open", "ReceivedAt": stamp},
            "clicked": {"RecordType": "Click", "ReceivedAt": stamp, "OriginalLink": url},
            "bounced": {"RecordType": "Bounce", "Type": "HardBounce", "ID": delivery.pk, "BouncedAt": stamp,
                        "Email": delivery.to_email},
            "unsubscribed": {"RecordType": "SubscriptionChange", "ChangedAt": stamp, "SuppressSending": True,
                             "SuppressionReason": "ManualSuppression"},
        }[kind])
        request = self.factory.post("/anymail/postmark/tracking/", data=json.dumps(payload),
                                    content_type="application/json", **self.auth)
        response = self.view(request)
        if response.status_code != 200:
            raise RuntimeError(f"The webhook answered {response.status_code}")


def simulate(
    *, sequence_id: int | None = None, days: int = 30, rates: Rates | None = None, seed: int = 1,
    via: str = "signal", place_orders: bool = True, progress: Any = None,
) -> Counter:
    """Simulate what recipients did with mails sent in the last ``days`` that have no events yet.

    Deterministic for a given ``seed``. Returns counts of what was simulated.
    """
    rates = rates or Rates()
    now = timezone.now()
    deliveries = (
        Delivery.objects.filter(status=DeliveryStatus.SENT, sent_at__gte=now - timedelta(days=days))
        .filter(~Q(events__isnull=False)).distinct()
        .select_related("enrollment__contact", "step").order_by("sent_at", "pk")
    )
    if sequence_id:
        deliveries = deliveries.filter(enrollment__sequence_id=sequence_id)
    feed = Feeder(via)
    done: Counter = Counter()
    items = list(deliveries)
    for delivery in progress(items) if progress else items:
        rng = random.Random(f"{seed}:{delivery.pk}")
        sent = delivery.sent_at or now

        def at(offset: timedelta) -> datetime:
            return min(sent + offset, now)

        if rng.random() < rates.bounce:
            feed(delivery, "bounced", at(timedelta(seconds=30)))
            done["bounced"] += 1
            continue
        feed(delivery, "delivered", at(timedelta(seconds=5)))
        done["delivered"] += 1
        if rng.random() >= rates.open:
            continue
        opened = at(timedelta(minutes=rng.randint(5, 20 * 60)))
        feed(delivery, "opened", opened)
        done["opened"] += 1
        if rng.random() < rates.unsubscribe:
            feed(delivery, "unsubscribed", min(opened + timedelta(minutes=1), now))
            done["unsubscribed"] += 1
            continue
        if rng.random() >= rates.click:
            continue
        clicked = min(opened + timedelta(minutes=rng.randint(1, 30)), now)
        url = _some_link(delivery)
        feed(delivery, "clicked", clicked, url)
        done["clicked"] += 1
        if place_orders and rng.random() < rates.order:
            order = _order(delivery, min(clicked + timedelta(minutes=rng.randint(10, 36 * 60)), now))
            if order is not None:
                done["orders"] += 1
                # The order_placed receiver attributes on commit too; doing it now (idempotent)
                # lets the count below be right inside a caller's transaction.
                done["credited"] += attribute_order(order) is not None
    return done


def _some_link(delivery: Delivery) -> str:
    from ..rendering.brand import base_url

    slug = getattr(delivery.step, "slug", "") or "mail"
    return f"{base_url()}/?utm_source=stepmail&utm_content={slug}"


def _order(delivery: Delivery, at: datetime):
    from ..triggers.orders import place_order_for

    contact = delivery.enrollment.contact
    return place_order_for(contact.email, user=contact.user, at=at)
