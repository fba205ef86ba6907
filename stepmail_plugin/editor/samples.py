"""Who a preview or test mail is rendered for.

* The **sample**: the editor's own name and address with the shop's latest real order (or basket,
  for basket sequences) as commerce data — real products, prices and recommendations without
  showing a customer's name. A shop without orders gets a built sample.
* A **chosen enrollment** ("time travel"): a real contact's enrollment, rendered as its step would
  go out at its due time, with the reasons it would be skipped, if any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..commerce import orders as commerce_orders
from ..models import (
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    SequencePage,
)
from ..policy import SuppressionIndex
from ..rendering.batch import Recipient
from ..scheduling import due_at_for

#: Triggers whose enrollments carry an order, and those that carry a basket.
ORDER_TRIGGERS = frozenset({"order_placed", "order_shipped"})
BASKET_TRIGGERS = frozenset({"basket_abandoned"})


@dataclass
class Sample:
    recipient: Recipient
    #: What the preview is made of, for the editor ("Order 100023 of 2 Nov 2026 …").
    description: str
    due_at: datetime | None = None
    #: Why the dispatcher would not send this mail now ("" if it would).
    skip_reason: str = ""


def sequence_of(step: Any) -> SequencePage | None:
    parent = step.get_parent() if step.pk or step.path else None
    if parent is None:
        return None
    parent = parent.specific
    return parent if isinstance(parent, SequencePage) else None


def editor_contact(user: Any, language: str) -> Contact:
    """An unsaved contact with the editor's own name and address."""
    ja = language.startswith("ja")
    return Contact(
        email=getattr(user, "email", "") or "editor@example.com",
        first_name=getattr(user, "first_name", "") or ("花子" if ja else "Hanako"),
        last_name=getattr(user, "last_name", "") or ("山田" if ja else "Yamada"),
        language=language,
    )


def sample_for(step: Any, user: Any, *, sequence: SequencePage | None = None, language: str | None = None) -> Sample:
    """The editor as recipient, with the latest order or basket as what started the sequence."""
    language = language or get_language() or settings.LANGUAGE_CODE
    sequence = sequence or sequence_of(step)
    trigger_key = getattr(sequence, "trigger", "")
    contact = editor_contact(user, language)
    trigger = None
    sample = None
    if trigger_key in ORDER_TRIGGERS:
        trigger = commerce_orders.latest_order()
        if trigger is not None:
            placed = formats.date_format(timezone.localtime(trigger.date_placed), "DATE_FORMAT")
            description = _("Order %(number)s of %(date)s (the latest), sent to you") % {
                "number": trigger.number, "date": placed
            }
        else:
            sample = commerce_orders.built_sample()
            description = _("A built sample order (the shop has no orders yet)")
    elif trigger_key in BASKET_TRIGGERS:
        trigger = commerce_orders.latest_basket()
        if trigger is not None:
            description = _("Basket %(number)s (the latest with products), sent to you") % {"number": trigger.pk}
        else:
            sample = commerce_orders.built_sample()
            sample.kind = "basket"
            description = _("A built sample basket (the shop has no baskets with products)")
    else:
        description = _("Your own name and address; this trigger has no order")
    enrollment = Enrollment(
        sequence=sequence, contact=contact, trigger=trigger_key,
        anchor_at=getattr(trigger, "date_placed", None) or timezone.now(), context={},
    ) if sequence is not None else None
    recipient = Recipient(
        key="sample",
        contact=contact,
        enrollment=enrollment,
        trigger=trigger,
        sequence=sequence,
        step=step,
        language=language,
        sample=sample,
    )
    return Sample(recipient=recipient, description=description)


def enrollment_sample(step: Any, enrollment: Enrollment) -> Sample:
    """A real enrollment's mail for ``step``, as it would go out at its due time."""
    contact = enrollment.contact
    sequence = enrollment.sequence.specific
    delivery = Delivery.objects.filter(enrollment=enrollment, step_id=step.pk).first() if step.pk else None
    due_at = delivery.due_at if delivery is not None else due_at_for(enrollment, step)
    trigger = enrollment.trigger_object if enrollment.object_id else None
    language = contact.language or settings.LANGUAGE_CODE
    reasons = []
    if delivery is not None and delivery.status == DeliveryStatus.SENT:
        reasons.append(_("Already sent on %(date)s; this is what was sent (with today's products).") % {
            "date": formats.date_format(timezone.localtime(delivery.sent_at or delivery.updated_at), "DATETIME_FORMAT")
        })
    elif delivery is not None and delivery.status in (
        DeliveryStatus.SKIPPED, DeliveryStatus.CANCELLED, DeliveryStatus.FAILED
    ):
        reasons.append(_("This mail was %(status)s (%(reason)s).") % {
            "status": delivery.get_status_display(), "reason": delivery.reason or "—"
        })
    if enrollment.status != EnrollmentStatus.ACTIVE:
        reasons.append(_("The enrollment is %(status)s%(reason)s: nothing more is sent.") % {
            "status": enrollment.get_status_display(),
            "reason": f" ({enrollment.exit_reason})" if enrollment.exit_reason else "",
        })
    suppressed = SuppressionIndex([contact.email]).reason(contact, sequence.pk, sequence.is_marketing)
    if suppressed:
        reasons.append(_("The address is suppressed (%(reason)s): it would be skipped.") % {"reason": suppressed})
    if not step.live:
        reasons.append(_("The step is not published: it would be skipped."))
    if not sequence.live:
        reasons.append(_("The sequence is not published: it is paused."))
    recipient = Recipient(
        key=delivery.pk if delivery is not None else f"enrollment:{enrollment.pk}",
        contact=contact,
        enrollment=enrollment,
        delivery=delivery,
        trigger=trigger,
        sequence=sequence,
        step=step,
        language=language,
    )
    description = _("%(email)s, enrolled %(date)s; due %(due)s") % {
        "email": contact.email,
        "date": formats.date_format(timezone.localtime(enrollment.anchor_at), "DATETIME_FORMAT"),
        "due": formats.date_format(timezone.localtime(due_at), "DATETIME_FORMAT"),
    }
    return Sample(recipient=recipient, description=description, due_at=due_at, skip_reason=" ".join(reasons))
