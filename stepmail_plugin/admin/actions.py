"""Staff decisions on step-mail records: requeue a delivery, add suppressions, enroll a contact by
hand. Pausing, resuming and cancelling an enrollment are :mod:`stepmail_plugin.flow`'s.

Every change is a compare-and-set UPDATE (it names the status it expects), so a staff click can
never undo what a worker did in the meantime. Delivery status changes are announced with
``delivery_status_changed`` after commit, as the dispatcher does.

These are service functions with no admin framework in them; they may move next to
``subscriptions.py``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from ..models import (
    ConsentStatus,
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    SequencePage,
    Suppression,
    SuppressionReason,
    normalize_email,
)
from ..models.rules import Reentry
from ..flow import RUNNING_STATUSES
from ..signals import announce_status_change
from ..subscriptions import unsubscribe_contact

#: ``Delivery.reason`` of a delivery that staff put back in the queue (cleared once it is sent).
REQUEUED_BY_STAFF = "requeued_by_staff"
#: Delivery statuses staff may put back in the queue.
REQUEUEABLE_STATUSES = (DeliveryStatus.UNCERTAIN, DeliveryStatus.FAILED)
#: Delivery statuses that need a look from staff (dashboard, timeline, "needs attention" filter).
ATTENTION_STATUSES = (DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN)
#: Suppression reasons an import may create.
IMPORT_REASONS = (SuppressionReason.UNSUBSCRIBED, SuppressionReason.MANUAL)
#: Header names recognised for the address column of an imported CSV file (compared lower-cased).
EMAIL_HEADERS = frozenset(
    {"email", "e-mail", "email address", "email_address", "mail", "メールアドレス"}
)
#: How long a failed delivery stays on the dashboard's "needs attention" count.
ATTENTION_WINDOW = timedelta(days=7)
_MAX_EMAIL_LENGTH = 254
_CHUNK = 500


def needs_attention(now: datetime) -> Q:
    """Deliveries staff should look at: failed in the last 7 days (older failures were seen on the
    dashboard already), or uncertain (may or may not have gone out; never resent by itself)."""
    return Q(status=DeliveryStatus.UNCERTAIN) | Q(
        status=DeliveryStatus.FAILED, updated_at__gte=now - ATTENTION_WINDOW
    )


# -- enrollments ------------------------------------------------------------------------------
@dataclass
class HandEnrollment:
    """What :func:`enroll_by_hand` did: the enrollment it created, or why it created none."""

    enrollment: Enrollment | None = None
    #: Why nobody was enrolled, as a message for staff (``""`` when ``enrollment`` is set).
    refusal: str = ""

    @property
    def held_out(self) -> bool:
        """Enrolled in the sequence's holdout group: counted for comparison, sent nothing."""
        return self.enrollment is not None and self.enrollment.holdout


def enroll_by_hand(
    sequence: SequencePage,
    email: str,
    *,
    first_name: str = "",
    last_name: str = "",
    record_consent: bool = False,
    source: str = "admin",
) -> HandEnrollment:
    """Put one person into ``sequence`` now, as staff decided.

    Goes through :func:`stepmail_plugin.enrollment.enroll`, like every trigger, so opt-outs and
    suppressions, the sequence's re-entry rule and its holdout group apply; only the targeting
    filters are skipped (they describe the trigger's order or basket, and staff chose the person).
    There is no trigger object, so a purchase cannot stand in for consent: a marketing sequence
    needs a contact who opted in, or ``record_consent`` (the person agreed, e.g. at the counter),
    which records the opt-in with ``source``.
    """
    from ..enrollment import Person, enroll

    email = normalize_email(email)
    contact = Contact.objects.filter(email=email).first()
    if sequence.is_marketing and not record_consent and (
        contact is None or contact.consent != ConsentStatus.OPTED_IN
    ):
        if contact is not None and not contact.can_receive_marketing:
            return HandEnrollment(refusal=_refusal(sequence, contact))
        return HandEnrollment(
            refusal=gettext(
                "%(email)s has not agreed to receive marketing mail. If they have (for example "
                "at the counter or on the phone), tick “They agreed to receive these mails”."
            )
            % {"email": email}
        )
    person: Contact | Person = contact or Person(email=email, first_name=first_name, last_name=last_name)
    try:
        created = enroll(
            person,
            sequence.trigger,
            consent_source=source[:100] if record_consent else "",
            match={"sequence_ids": [sequence.pk], "skip_filters": True},
        )
    except LookupError:  # a host project's trigger that is no longer registered
        return HandEnrollment(
            refusal=gettext("The trigger “%(trigger)s” of “%(sequence)s” is not available any more.")
            % {"trigger": sequence.trigger, "sequence": sequence.title}
        )
    created = [e for e in created if e.sequence_id == sequence.pk]
    if created:
        return HandEnrollment(enrollment=created[0])
    contact = Contact.objects.filter(email=email).first()
    return HandEnrollment(refusal=_refusal(sequence, contact))


def _refusal(sequence: SequencePage, contact: Contact | None) -> str:
    """Why ``enroll()`` created nothing for ``contact`` in ``sequence``, in words for staff."""
    from ..enrollment import may_enroll
    from ..policy import SuppressionIndex
    from ..triggers.registry import registry

    fresh = SequencePage.objects.filter(pk=sequence.pk).first()
    if fresh is None or not fresh.live:
        return gettext("“%(sequence)s” is not published: publish it first.") % {"sequence": sequence.title}
    if not fresh.get_steps().exists():
        return gettext("“%(sequence)s” has no steps yet.") % {"sequence": sequence.title}
    if contact is None:
        return gettext("Nobody was enrolled: the address is missing.")
    values = {"email": contact.email, "sequence": sequence.title}
    reason = SuppressionIndex([contact.email]).reason(contact, fresh.pk, fresh.is_marketing)
    if reason:
        return gettext(
            "%(email)s is on the suppression list (%(reason)s) and cannot receive “%(sequence)s”."
        ) % {**values, "reason": SuppressionReason(reason).label}
    trigger = registry.find(fresh.trigger)
    if trigger is not None and not may_enroll(fresh, contact, trigger):
        return gettext(
            "%(email)s has not agreed to receive marketing mail, so they cannot enter “%(sequence)s”."
        ) % values
    earlier = contact.enrollments.filter(sequence=fresh).order_by("-anchor_at", "-pk").first()
    if earlier is not None:
        if earlier.status in RUNNING_STATUSES:
            return gettext("%(email)s is already in “%(sequence)s” (entered %(date)s).") % {
                **values, "date": _date(earlier.anchor_at)}
        if fresh.reentry == Reentry.COOLDOWN and fresh.cooldown_days:
            return gettext(
                "%(email)s went through “%(sequence)s” on %(date)s; the sequence lets people "
                "re-enter only %(days)d days later."
            ) % {**values, "date": _date(earlier.anchor_at), "days": fresh.cooldown_days}
        return gettext(
            "%(email)s has already been through “%(sequence)s” (entered %(date)s), and its "
            "re-entry rule does not let them in again."
        ) % {**values, "date": _date(earlier.anchor_at)}
    return gettext("%(email)s could not be enrolled in “%(sequence)s”.") % values


def _date(moment) -> str:
    from django.utils.formats import date_format

    return date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")


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
        transaction.on_commit(lambda: announce_status_change([delivery], old_status))
    return True


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
