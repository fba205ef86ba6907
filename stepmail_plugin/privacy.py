"""Personal data: erasing a contact on request, and keeping delivery records no longer than
needed. Both keep what reports count (how many mails of which step went out, were opened,
failed…), which needs no one's name or address. See docs/security.md.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from .conf import stepmail_settings
from .models import (
    ConsentStatus,
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    Suppression,
    normalize_email,
)
from .signals import announce_status_change, contact_erased

logger = logging.getLogger(__name__)

#: Erased contacts keep their row (the counts point at it) under an address that cannot exist.
ERASED_DOMAIN = "erased.invalid"

#: Deliveries that may still be sent: cancelled by an erasure.
_NOT_SENT_YET = [DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING, DeliveryStatus.UNCERTAIN]
_ENDED = [EnrollmentStatus.COMPLETED, EnrollmentStatus.EXITED, EnrollmentStatus.CANCELLED]
_FINAL = [DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.CANCELLED]


@dataclass
class Erasure:
    """What :func:`erase_contact` did."""

    found: bool
    cancelled_deliveries: int = 0
    scrubbed_deliveries: int = 0
    ended_enrollments: int = 0
    deleted_suppressions: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def erase_contact(contact_or_email: Contact | str, *, keep_suppression: bool = False) -> Erasure:
    """Erase a person's data from step mail, keeping anonymous counts.

    Their pending deliveries are cancelled (one being handed to the ESP at this very moment may
    still go out, but is not recorded), their enrollments end, and every personal detail is
    removed: address, names, account link, birthday, consent source, what was sent to them
    (address, subject, errors), the order or basket their enrollments point at and the extra
    values given to ``enroll()``. Their suppressions (opt-outs) are deleted too, unless
    ``keep_suppression``: keep them if the person must never be mailed again even when they
    come back as a new customer. Safe to run again; the ``contact_erased`` signal lets other
    modules erase what they hold.
    """
    if isinstance(contact_or_email, Contact):
        contact: Contact | None = contact_or_email
        email = contact_or_email.email
    else:
        email = normalize_email(contact_or_email)
        contact = Contact.objects.filter(email=email).first()
    result = Erasure(found=contact is not None)
    now = timezone.now()
    with transaction.atomic():
        if not keep_suppression:
            result.deleted_suppressions = Suppression.objects.filter(email=email).delete()[0]
        if contact is None:
            return result
        deliveries = Delivery.objects.filter(enrollment__contact=contact)
        # A worker holding one of these finds it gone when it records (compare-and-set); locked
        # while they are cancelled, so the status each is announced with is the one it left.
        pending = list(deliveries.filter(status__in=_NOT_SENT_YET).select_for_update(of=("self",))
                       .values_list("pk", "status"))
        result.cancelled_deliveries = Delivery.objects.filter(pk__in=[pk for pk, _ in pending]).update(
            status=DeliveryStatus.CANCELLED, reason="erased", claim_token=None, claimed_at=None, updated_at=now
        )
        result.scrubbed_deliveries = deliveries.update(to_email="", subject="", error="", updated_at=now)
        enrollments = Enrollment.objects.filter(contact=contact)
        result.ended_enrollments = enrollments.filter(
            status__in=[EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED]
        ).update(status=EnrollmentStatus.EXITED, exit_reason="erased", ended_at=now)
        for enrollment in enrollments.only("pk"):
            # The key names the order ("order.order:123"): a way back to the person.
            Enrollment.objects.filter(pk=enrollment.pk).update(
                key=f"erased:{enrollment.pk}", context={}, object_type=None, object_id=""
            )
        Contact.objects.filter(pk=contact.pk).update(
            email=f"erased-{contact.pk}-{uuid.uuid4().hex[:8]}@{ERASED_DOMAIN}",
            user=None,
            first_name="",
            last_name="",
            birthday=None,
            timezone="",
            consent=ConsentStatus.OPTED_OUT,
            consent_source="",
            consent_at=None,
        )
    if pending:
        transaction.on_commit(lambda: _announce_cancelled(dict(pending)))
    contact_erased.send(sender=Contact, contact=contact, email=email)
    logger.info("stepmail: erased contact %s (%s)", contact.pk, result.as_dict())
    return result


def _announce_cancelled(old_status_of: dict[int, str]) -> None:
    """``delivery_status_changed`` for the mails an erasure cancelled, each from its old status."""
    cancelled = list(Delivery.objects.filter(pk__in=list(old_status_of)))
    for status in sorted(set(old_status_of.values())):
        announce_status_change([d for d in cancelled if old_status_of[d.pk] == status], status)


def prune_delivery_logs(now=None) -> dict[str, int]:
    """Apply ``STEPMAIL["DELIVERY_RETENTION_DAYS"]`` to delivery records.

    Settled deliveries older than that lose their personal details (address, subject, error
    text); those of enrollments that ended before it are deleted (but uncertain ones). Deliveries of running
    enrollments are kept (without the details): they are what tells the dispatcher a step was
    already sent. Enrollments are kept for the same reason (who already went through a
    sequence). Does nothing when the setting is None.
    """
    days = stepmail_settings.DELIVERY_RETENTION_DAYS
    if not days:
        return {"deleted": 0, "scrubbed": 0}
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = Delivery.objects.filter(status__in=_FINAL, updated_at__lt=cutoff)
    deleted = 0
    # An ended enrollment never sends again: all its records may go, but for a doubt a person
    # has yet to settle (uncertain) or a worker is holding.
    removable = Delivery.objects.filter(
        enrollment__status__in=_ENDED, enrollment__ended_at__lt=cutoff, updated_at__lt=cutoff
    ).exclude(status__in=[DeliveryStatus.UNCERTAIN, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING])
    while True:  # in slices: a year of mail is many rows, and locks should stay short
        ids = list(removable.values_list("pk", flat=True)[:1000])
        if not ids:
            break
        deleted += Delivery.objects.filter(pk__in=ids).delete()[1].get(Delivery._meta.label, 0)
    scrubbed = (
        old.exclude(to_email="", subject="", error="")
        .update(to_email="", subject="", error="")
    )
    return {"deleted": deleted, "scrubbed": scrubbed}
