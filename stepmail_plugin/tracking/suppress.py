"""Stopping all step mail to an address that hard-bounced or complained."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..exits import cancel_queued
from ..models import (
    Contact,
    Delivery,
    Enrollment,
    EnrollmentStatus,
    Suppression,
    SuppressionReason,
)


def stop_contact(contact: Contact, reason: str, *, source: str, at: datetime | None = None) -> None:
    """Record a hard bounce or complaint: suppress the address for every sequence (transactional
    ones too), cancel what was queued and end the running enrollments. Safe to repeat."""
    at = at or timezone.now()
    field = "bounced_at" if reason == SuppressionReason.BOUNCED else "complained_at"
    with transaction.atomic():
        if not Suppression.objects.filter(email=contact.email, sequence=None, reason=reason).exists():
            try:
                with transaction.atomic():
                    Suppression.objects.create(
                        email=contact.email, sequence=None, reason=reason, source=source[:100], created_at=at
                    )
            except IntegrityError:  # recorded by a concurrent event
                pass
        Contact.objects.filter(pk=contact.pk, **{f"{field}__isnull": True}).update(**{field: at})
        setattr(contact, field, getattr(contact, field) or at)
        active = Enrollment.objects.filter(
            contact=contact, status__in=[EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED]
        )
        cancel_queued(Delivery.objects.filter(enrollment__in=active), str(reason), now=at)
        active.update(status=EnrollmentStatus.EXITED, exit_reason=str(reason), ended_at=timezone.now())
