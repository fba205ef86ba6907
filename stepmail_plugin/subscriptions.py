"""Opting out: one place that records an unsubscribe and stops what was queued."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .exits import cancel_queued
from .models import (
    ConsentStatus,
    Contact,
    Delivery,
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
        _stop_queued(contact, active, now)
    return created


def mask_email(email: str) -> str:
    """``ta***@example.com``: enough to recognise, not enough to harvest from a forwarded link."""
    local, _, domain = email.partition("@")
    return f"{local[:2]}***@{domain}" if domain else "***"


def _stop_queued(contact: Contact, enrollments, now) -> None:
    """Cancel what was queued for ``enrollments`` and end them as unsubscribed."""
    cancel_queued(Delivery.objects.filter(enrollment__in=enrollments), "unsubscribed", now=now)
    enrollments.update(status=EnrollmentStatus.EXITED, exit_reason="unsubscribed", ended_at=now)


def set_sequence_subscription(contact: Contact, sequence_id: int, subscribed: bool, *, source: str) -> bool:
    """Stop (or allow again) one marketing sequence for ``contact``. Returns True if anything changed.

    Stopping ends the contact's running enrollments in that sequence, so a step already queued is
    not sent; allowing it again only lets *future* triggers enroll them — what was stopped stays
    stopped, as the customer was told.
    """
    now = timezone.now()
    with transaction.atomic():
        if subscribed:
            deleted, _ = Suppression.objects.filter(
                email=contact.email, sequence_id=sequence_id, reason=SuppressionReason.UNSUBSCRIBED
            ).delete()
            return bool(deleted)
        _suppression, created = Suppression.objects.get_or_create(
            email=contact.email,
            sequence_id=sequence_id,
            reason=SuppressionReason.UNSUBSCRIBED,
            defaults={"source": source[:100], "created_at": now},
        )
        _stop_queued(
            contact,
            Enrollment.objects.filter(
                contact=contact,
                sequence_id=sequence_id,
                status__in=[EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED],
                sequence__kind=SequenceKind.MARKETING,
            ),
            now,
        )
    return created


def resubscribe_contact(contact: Contact, *, source: str) -> bool:
    """Record that ``contact`` asked for marketing mail again. Returns False if nothing changed.

    Only the customer's own opt-out is lifted (with the consent's source and time recorded); bounces,
    complaints and suppressions added by staff stay, and enrollments that ended stay ended.
    """
    now = timezone.now()
    with transaction.atomic():
        deleted, _ = Suppression.objects.filter(
            email=contact.email, sequence=None, reason=SuppressionReason.UNSUBSCRIBED
        ).delete()
        changed = bool(deleted) or contact.unsubscribed_at is not None or contact.consent != ConsentStatus.OPTED_IN
        if changed:
            contact.unsubscribed_at = None
            contact.consent = ConsentStatus.OPTED_IN
            contact.consent_source = source[:100]
            contact.consent_at = now
            contact.save(update_fields=["unsubscribed_at", "consent", "consent_source", "consent_at"])
    return changed
