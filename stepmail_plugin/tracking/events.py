"""Recording what happened to a sent mail: ESP webhook events, tracked clicks and opens.

One entry point, :func:`record_event`, serves anymail's ``tracking`` signal, the click redirect,
the open pixel and the unsubscribe link. It is

* idempotent: each event has a de-duplication key (the ESP's event id, or a digest of what the
  event says), stored under a unique constraint, so a webhook delivered twice changes nothing;
* order-independent: a delivery keeps the *first* open and click time and the *most serious* ESP
  status seen, so events arriving late or shuffled give the same result;
* quick: a handful of indexed queries in one transaction, no mail, no network.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import (
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    EventSource,
    EventType,
    SuppressionReason,
)
from ..signals import delivery_status_changed

logger = logging.getLogger(__name__)

#: How serious each event is for the delivery's ``esp_status``: a later event never replaces a
#: more serious one, whatever order they arrive in.
STATUS_RANK = {
    EventType.QUEUED: 0,
    EventType.SENT: 0,
    EventType.DEFERRED: 1,
    EventType.DELIVERED: 2,
    EventType.OPENED: 3,
    EventType.CLICKED: 4,
    EventType.UNSUBSCRIBED: 5,
    EventType.FAILED: 6,
    EventType.REJECTED: 6,
    EventType.BOUNCED: 7,
    EventType.COMPLAINED: 8,
}

RECORDED, DUPLICATE, UNMATCHED, IGNORED = "recorded", "duplicate", "unmatched", "ignored"


@dataclass
class IncomingEvent:
    """An event in our terms, whatever its source."""

    event_type: str
    occurred_at: datetime | None = None
    delivery_id: int | None = None
    message_id: str = ""
    event_id: str = ""
    esp_name: str = ""
    source: str = EventSource.ESP
    url: str = ""
    reject_reason: str = ""
    description: str = ""
    user_agent: str = ""

    def dedupe_key(self, delivery_pk: int) -> str:
        if self.source != EventSource.ESP and self.source != EventSource.SIMULATED:
            # Every click or pixel load is its own event (totals count them all).
            return "own:" + uuid.uuid4().hex
        if self.event_id:
            raw = f"id|{self.esp_name}|{self.event_type}|{self.event_id}"
        elif self.occurred_at is not None:
            raw = f"ev|{self.esp_name}|{delivery_pk}|{self.event_type}|{self.occurred_at.isoformat()}|{self.url}"
        else:  # nothing to recognise a repeat by
            return "anon:" + uuid.uuid4().hex
        return hashlib.sha256(raw.encode()).hexdigest()


def find_delivery(event: IncomingEvent) -> Delivery | None:
    """The delivery an event is about: by our metadata id, else by the ESP's message id."""
    deliveries = Delivery.objects.select_related("enrollment__contact")
    if event.delivery_id is not None:
        found = deliveries.filter(pk=event.delivery_id).first()
        if found is not None:
            return found
    if event.message_id:
        return deliveries.filter(esp_message_id=event.message_id[:255]).order_by("-pk").first()
    return None


def record_event(event: IncomingEvent) -> str:
    """Apply one event; returns ``recorded``, ``duplicate``, ``unmatched`` or ``ignored``."""
    if event.event_type not in STATUS_RANK:
        return IGNORED
    delivery = find_delivery(event)
    if delivery is None:
        logger.debug("stepmail: %s event for no known delivery (message id %r)", event.event_type, event.message_id)
        return UNMATCHED
    received = timezone.now()
    at = event.occurred_at or received
    with transaction.atomic():
        try:
            with transaction.atomic():
                DeliveryEvent.objects.create(
                    delivery=delivery,
                    event_type=event.event_type,
                    source=event.source,
                    esp_name=event.esp_name[:32],
                    occurred_at=at,
                    received_at=received,
                    dedupe_key=event.dedupe_key(delivery.pk),
                    url=event.url[:2000],
                    reject_reason=(event.reject_reason or "")[:32],
                    description=(event.description or "")[:500],
                    user_agent=(event.user_agent or "")[:300],
                )
        except IntegrityError:
            return DUPLICATE
        _apply(delivery, event, at)
    return RECORDED


def _apply(delivery: Delivery, event: IncomingEvent, at: datetime) -> None:
    kind = event.event_type
    rows = Delivery.objects.filter(pk=delivery.pk)
    if kind in (EventType.OPENED, EventType.CLICKED):
        # A click proves the mail was opened, even when the open pixel was blocked.
        rows.filter(Q(opened_at__isnull=True) | Q(opened_at__gt=at)).update(opened_at=at)
    if kind == EventType.CLICKED:
        rows.filter(Q(clicked_at__isnull=True) | Q(clicked_at__gt=at)).update(clicked_at=at)
    rank = STATUS_RANK[kind]
    at_least_as_serious = [name for name, r in STATUS_RANK.items() if r >= rank]
    rows.exclude(esp_status__in=at_least_as_serious).update(esp_status=kind)
    if delivery.status == DeliveryStatus.UNCERTAIN:
        resolve_uncertain(delivery, at, event.message_id)
    contact = delivery.enrollment.contact
    source = f"{event.source}:{event.esp_name}".rstrip(":")[:100]
    if kind == EventType.BOUNCED:
        from .suppress import stop_contact

        stop_contact(contact, SuppressionReason.BOUNCED, source=source, at=at)
    elif kind == EventType.COMPLAINED:
        from .suppress import stop_contact

        stop_contact(contact, SuppressionReason.COMPLAINED, source=source, at=at)
    elif kind == EventType.UNSUBSCRIBED and event.source != EventSource.UNSUBSCRIBE_LINK:
        from ..subscriptions import unsubscribe_contact

        unsubscribe_contact(contact, source=source)


def resolve_uncertain(delivery: Delivery, at: datetime, message_id: str = "") -> bool:
    """An event about a mail whose worker died mid-send proves it went out: mark it ``sent`` and
    schedule the enrollment's next step, as the dispatcher would have."""
    updated = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.UNCERTAIN).update(
        status=DeliveryStatus.SENT, sent_at=Coalesce(F("sent_at"), Value(at)), reason="", error=""
    )
    if not updated:
        return False
    if message_id:
        Delivery.objects.filter(pk=delivery.pk, esp_message_id="").update(esp_message_id=message_id[:255])
    from .progress import advance_enrollment

    delivery.status = DeliveryStatus.SENT
    advance_enrollment(delivery)
    transaction.on_commit(
        lambda: _announce(delivery, DeliveryStatus.UNCERTAIN, DeliveryStatus.SENT)
    )
    logger.info("stepmail: delivery %s was uncertain; an ESP event proves it was sent", delivery.pk)
    return True


def _announce(delivery: Delivery, old: str, new: str) -> None:
    try:
        delivery_status_changed.send(sender=Delivery, delivery=delivery, old_status=old, new_status=new)
    except Exception:
        logger.exception("stepmail: a delivery_status_changed receiver failed")


def resolve_uncertain_with_events() -> int:
    """Resolve ``uncertain`` deliveries whose events arrived before they were marked uncertain
    (the webhook can be faster than the lease recovery). Run by the tracking maintenance task."""
    resolved = 0
    for delivery in Delivery.objects.filter(
        status=DeliveryStatus.UNCERTAIN, events__isnull=False
    ).distinct().select_related("enrollment__contact"):
        first = delivery.events.order_by("occurred_at").first()
        with transaction.atomic():
            resolved += resolve_uncertain(delivery, first.occurred_at)
    return resolved


# -- anymail ---------------------------------------------------------------------------------------

def from_anymail(event, esp_name: str) -> IncomingEvent:
    """Our form of an ``anymail.signals.AnymailTrackingEvent``."""
    metadata = getattr(event, "metadata", None) or {}
    delivery_id = None
    raw = metadata.get("stepmail_delivery_id") if isinstance(metadata, dict) else None
    if raw is not None:
        try:
            delivery_id = int(str(raw).strip())
        except ValueError:
            delivery_id = None
    return IncomingEvent(
        event_type=str(event.event_type or ""),
        occurred_at=event.timestamp,
        delivery_id=delivery_id,
        message_id="" if event.message_id is None else str(event.message_id),
        event_id="" if event.event_id is None else str(event.event_id),
        esp_name=str(esp_name or ""),
        source=EventSource.ESP,
        url=str(event.click_url or ""),
        reject_reason=str(event.reject_reason or ""),
        description=str(event.description or event.mta_response or ""),
        user_agent=str(event.user_agent or ""),
    )


def receive_tracking_event(sender, event, esp_name, **kwargs) -> None:
    """Receiver of anymail's ``tracking`` signal.

    Database errors propagate, so the webhook answers 500 and the ESP retries (repeats are
    harmless). Anything else about one odd event is logged and does not stop the rest of the post.
    """
    try:
        incoming = from_anymail(event, esp_name)
        record_event(incoming)
    except DatabaseError:
        raise
    except Exception:
        logger.exception(
            "stepmail: could not record %s event from %s (message id %r)",
            getattr(event, "event_type", "?"), esp_name, getattr(event, "message_id", None),
        )


def connect() -> None:
    from anymail.signals import tracking

    tracking.connect(receive_tracking_event, dispatch_uid="stepmail.tracking")
