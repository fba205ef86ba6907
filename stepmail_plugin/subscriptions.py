"""Opting out: one place that records an unsubscribe and stops what was queued."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import (
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    SequenceKind,
    Suppression,
    SuppressionReason,
)


def unsubscribe_contact(contact: Contact, *, source: str) -> bool:
    """Stop all marketing step mail to ``contact``. Returns False if they had already opted out.

    Safe to call again: nothing changes the second time.
    """
    now = timezone.now()
    with transaction.atomic():
        _suppression, created = Suppression.objects.get_or_create(
            email=contact.email,
            sequence=None,
            reason=SuppressionReason.UNSUBSCRIBED,
            defaults={"source": source[:100], "created_at": now},
        )
        if contact.unsubscribed_at is None:
            Contact.objects.filter(pk=contact.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=now)
            contact.unsubscribed_at = now
        active = Enrollment.objects.filter(
            contact=contact,
            status__in=[EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED],
            sequence__kind=SequenceKind.MARKETING,
        )
        Delivery.objects.filter(
            enrollment__in=active, status=DeliveryStatus.SCHEDULED
        ).update(status=DeliveryStatus.CANCELLED, reason="unsubscribed")
        active.update(status=EnrollmentStatus.EXITED, exit_reason="unsubscribed", ended_at=now)
    return created


def mask_email(email: str) -> str:
    """``ta***@example.com``: enough to recognise, not enough to harvest from a forwarded link."""
    local, _, domain = email.partition("@")
    return f"{local[:2]}***@{domain}" if domain else "***"
