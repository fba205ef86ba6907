"""Staff decisions on step-mail records: pause, resume or cancel an enrollment, requeue a delivery,
add suppressions.

Every change is a compare-and-set UPDATE (it names the status it expects), so a staff click can
never undo what a worker did in the meantime. Delivery status changes are announced with
``delivery_status_changed`` after commit, as the dispatcher does.

These are service functions with no admin framework in them; they may move next to
``subscriptions.py``.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from ..models import (
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    Suppression,
    SuppressionReason,
    normalize_email,
)
from ..signals import delivery_status_changed
from ..subscriptions import unsubscribe_contact

logger = logging.getLogger(__name__)

#: ``Enrollment.exit_reason`` and ``Delivery.reason`` written when staff cancel an enrollment.
CANCELLED_BY_STAFF = "cancelled_by_staff"
#: ``Delivery.reason`` of a delivery that staff put back in the queue (cleared once it is sent).
REQUEUED_BY_STAFF = "requeued_by_staff"
#: Delivery statuses staff may put back in the queue.
REQUEUEABLE_STATUSES = (DeliveryStatus.UNCERTAIN, DeliveryStatus.FAILED)
#: Enrollment statuses in which a requeued delivery can still go out.
RUNNING_STATUSES = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)
#: Suppression reasons an import may create.
IMPORT_REASONS = (SuppressionReason.UNSUBSCRIBED, SuppressionReason.MANUAL)
#: Header names recognised for the address column of an imported CSV file (compared lower-cased).
EMAIL_HEADERS = frozenset(
    {"email", "e-mail", "email address", "email_address", "mail", "メールアドレス"}
)
_MAX_EMAIL_LENGTH = 254
_CHUNK = 500


# -- enrollments ------------------------------------------------------------------------------
def pause_enrollment(enrollment: Enrollment) -> bool:
    """Hold an active enrollment: its scheduled mail waits until it is resumed.

    Returns False (and changes nothing) if it was not active.
    """
    paused_at = timezone.now()
    changed = Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.ACTIVE).update(
        status=EnrollmentStatus.PAUSED, paused_at=paused_at
    )
    if changed:
        enrollment.status = EnrollmentStatus.PAUSED
        enrollment.paused_at = paused_at
    return bool(changed)


def resume_enrollment(enrollment: Enrollment) -> bool:
    """Continue a paused enrollment; its remaining steps move later by the length of the pause
    (:func:`stepmail_plugin.flow.resume_enrollment`).

    Returns False (and changes nothing) if it was not paused.
    """
    from ..flow import resume_enrollment as shift_and_resume

    if not Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.PAUSED).exists():
        return False
    resumed = shift_and_resume(enrollment)
    enrollment.status, enrollment.anchor_at, enrollment.paused_at = resumed.status, resumed.anchor_at, None
    return resumed.status == EnrollmentStatus.ACTIVE


def cancel_enrollment(enrollment: Enrollment) -> int | None:
    """End an active or paused enrollment and cancel its scheduled deliveries.

    Returns how many deliveries were cancelled, or None (nothing changed) if the enrollment had
    already ended. Deliveries a worker has already claimed are left to it.
    """
    now = timezone.now()
    with transaction.atomic():
        changed = Enrollment.objects.filter(pk=enrollment.pk, status__in=RUNNING_STATUSES).update(
            status=EnrollmentStatus.CANCELLED, exit_reason=CANCELLED_BY_STAFF, ended_at=now
        )
        if not changed:
            return None
        enrollment.status = EnrollmentStatus.CANCELLED
        enrollment.exit_reason = CANCELLED_BY_STAFF
        enrollment.ended_at = now
        cancelled = _set_status(
            Delivery.objects.filter(enrollment=enrollment),
            DeliveryStatus.SCHEDULED,
            status=DeliveryStatus.CANCELLED,
            reason=CANCELLED_BY_STAFF,
            updated_at=now,
        )
    return len(cancelled)


# -- deliveries -------------------------------------------------------------------------------
def requeue_refusal(delivery: Delivery) -> str:
    """Why ``delivery`` cannot be requeued (a message for staff), or ``""`` if it can."""
    if delivery.status not in REQUEUEABLE_STATUSES:
        return gettext(
            "Only uncertain or failed deliveries can be requeued; this one is “%(status)s”."
        ) % {"status": delivery.get_status_display()}
    if delivery.step_id is None:
        return gettext("Its step email has been deleted, so there is nothing to send.")
    if delivery.enrollment.status not in RUNNING_STATUSES:
        return gettext(
            "Its enrollment has ended (“%(status)s”), so the dispatcher would never send it."
        ) % {"status": delivery.enrollment.get_status_display()}
    return ""


def requeue_delivery(delivery: Delivery) -> bool:
    """Put an uncertain or failed delivery back in the queue, due now.

    An explicit staff decision: an ``uncertain`` delivery may already have reached the customer.
    The attempt count is kept, so a delivery that failed after the last retry gets one more try.
    Returns False (and changes nothing) if it is not requeueable any more.
    """
    if requeue_refusal(delivery):
        return False
    now = timezone.now()
    old_status = delivery.status
    with transaction.atomic():
        changed = Delivery.objects.filter(
            pk=delivery.pk,
            status=old_status,
            step__isnull=False,
            enrollment__status__in=RUNNING_STATUSES,
        ).update(
            status=DeliveryStatus.SCHEDULED,
            due_at=now,
            claim_token=None,
            claimed_at=None,
            reason=REQUEUED_BY_STAFF,
            updated_at=now,
        )
        if not changed:
            return False
        delivery.refresh_from_db()
        transaction.on_commit(lambda: _announce([delivery], old_status))
    return True


def _set_status(queryset, expected: str, **values) -> list[Delivery]:
    """Compare-and-set ``expected`` → ``values["status"]`` on ``queryset``; returns the rows that
    changed (announced after commit). Call inside a transaction."""
    ids = list(queryset.filter(status=expected).values_list("pk", flat=True))
    if not ids:
        return []
    Delivery.objects.filter(pk__in=ids, status=expected).update(**values)
    changed = list(
        Delivery.objects.filter(
            pk__in=ids, status=values["status"], reason=values.get("reason", "")
        )
    )
    transaction.on_commit(lambda: _announce(changed, expected))
    return changed


def _announce(deliveries: Iterable[Delivery], old_status: str) -> None:
    for delivery in deliveries:
        try:
            delivery_status_changed.send(
                sender=Delivery,
                delivery=delivery,
                old_status=old_status,
                new_status=delivery.status,
            )
        except Exception:  # a receiver's bug must not turn a staff action into an error page
            logger.exception("stepmail: a delivery_status_changed receiver failed")


# -- suppressions -----------------------------------------------------------------------------
@dataclass
class ImportReport:
    """What a suppression import did."""

    created: list[str] = field(default_factory=list)
    #: Addresses already suppressed for that reason, or repeated in the file.
    duplicates: list[str] = field(default_factory=list)
    #: ``(line number, value)`` of every line that is not a valid address; none were imported.
    invalid: list[tuple[int, str]] = field(default_factory=list)
    #: Contacts that were marked unsubscribed (and their queued marketing mail cancelled).
    unsubscribed_contacts: int = 0


def read_email_column(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, value)`` for each non-empty line of a CSV text.

    The addresses are in the column whose header is ``email`` (see ``EMAIL_HEADERS``), or, when
    the first line has no such header, in the first column of every line.
    """
    reader = csv.reader(io.StringIO(text))
    column = 0
    first = True
    for row in reader:
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if first:
            first = False
            headers = [cell.lower() for cell in cells]
            named = [i for i, name in enumerate(headers) if name in EMAIL_HEADERS]
            if named:
                column = named[0]
                continue
        yield reader.line_num, cells[column] if column < len(cells) else ""


def import_suppressions(
    rows: Iterable[tuple[int, str]], *, reason: str, source: str
) -> ImportReport:
    """Add a global suppression (all marketing mail) for every valid address in ``rows``.

    Invalid addresses are reported, not imported; addresses already suppressed for ``reason`` are
    skipped. With ``reason`` unsubscribed, known contacts are unsubscribed as if they had clicked
    the link (their running marketing enrollments end).
    """
    if reason not in IMPORT_REASONS:
        raise ValueError(f"Cannot import suppressions with reason {reason!r}")
    report = ImportReport()
    seen: set[str] = set()
    candidates: list[str] = []
    for line, value in rows:
        email = normalize_email(value)
        if not _is_valid_email(email):
            report.invalid.append((line, value))
        elif email in seen:
            report.duplicates.append(email)
        else:
            seen.add(email)
            candidates.append(email)
    with transaction.atomic():
        for chunk in _chunks(candidates):
            existing = set(
                Suppression.objects.filter(
                    email__in=chunk, sequence__isnull=True, reason=reason
                ).values_list("email", flat=True)
            )
            new = [email for email in chunk if email not in existing]
            report.duplicates.extend(email for email in chunk if email in existing)
            Suppression.objects.bulk_create(
                [
                    Suppression(email=email, sequence=None, reason=reason, source=source[:100])
                    for email in new
                ],
                ignore_conflicts=True,
            )
            report.created.extend(new)
        if reason == SuppressionReason.UNSUBSCRIBED:
            report.unsubscribed_contacts = unsubscribe_known_contacts(candidates, source=source)
    return report


def unsubscribe_known_contacts(emails: Iterable[str], *, source: str) -> int:
    """Record the unsubscribe of every contact among ``emails`` that has not opted out yet."""
    count = 0
    for chunk in _chunks(list(emails)):
        for contact in Contact.objects.filter(email__in=chunk, unsubscribed_at__isnull=True):
            unsubscribe_contact(contact, source=source)
            count += 1
    return count


def _is_valid_email(email: str) -> bool:
    if not email or len(email) > _MAX_EMAIL_LENGTH:
        return False
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
