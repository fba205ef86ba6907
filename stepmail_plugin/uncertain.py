"""Settling ``uncertain`` deliveries: handed to the ESP by a worker that stopped (or that got no
answer) before it could record the result. They may have gone out, so nothing resends them by
itself: a person looks them up in the ESP's log (by the ``Message-ID`` header
``<stepmail.<delivery id>.<hash>@…>`` or the ``stepmail_delivery_id`` metadata) and settles them
here, from the admin or ``manage.py stepmail_uncertain``. Those the ESP reports events for are
settled by the tracking module on its own. See docs/guarantees.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import QuerySet

from .models import Delivery, DeliveryStatus


def uncertain_deliveries() -> QuerySet[Delivery]:
    """Deliveries waiting for a person to say whether they went out, oldest first."""
    return (
        Delivery.objects.filter(status=DeliveryStatus.UNCERTAIN)
        .select_related("enrollment__contact", "step")
        .order_by("updated_at", "pk")
    )


def resolve_uncertain(delivery_ids: Iterable[int], *, sent: bool) -> int:
    """Settle uncertain deliveries; returns how many were settled.

    ``sent=True``: the ESP has them; they are recorded as sent and their enrollments move on to
    the next step. ``sent=False``: the ESP never got them; they are scheduled again and go out
    with the next tick (the admin's "Requeue" does the same for one delivery). Deliveries no
    longer uncertain are left alone, so two people settling the same row at once cannot send it
    twice.
    """
    from .dispatch import BatchSender, TickResult
    from .sending import SendOutcome

    if not sent:
        from .admin.actions import requeue_delivery

        return sum(
            requeue_delivery(delivery)
            for delivery in uncertain_deliveries().filter(pk__in=list(delivery_ids))
        )
    token = uuid.uuid4()
    taken = Delivery.objects.filter(pk__in=list(delivery_ids), status=DeliveryStatus.UNCERTAIN).update(
        claim_token=token
    )
    if not taken:
        return 0
    sender = BatchSender(token, TickResult())
    outcomes = []
    for delivery in sender.load(statuses=(DeliveryStatus.UNCERTAIN,)):
        delivery.to_email = delivery.to_email or delivery.enrollment.contact.email
        outcomes.append((delivery, SendOutcome(True, delivery.esp_message_id, "confirmed")))
    sender.record(outcomes)
    return len(outcomes)
