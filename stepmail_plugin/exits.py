"""Ending enrollments early: a purchase, a cancelled order, or a person's decision.

Every exit cancels the enrollment's scheduled deliveries and records the reason, in one
transaction. The dispatcher re-checks purchases and trigger objects at send time too, so a mail
claimed a moment before the exit still does not go out (see ``gates.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import live
from .models import Contact, Delivery, DeliveryStatus, Enrollment, EnrollmentStatus, SequencePage
from .signals import announce_status_change
from .triggers.registry import registry

OPEN_STATUSES = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)
EXIT_RULES_KEY = "stepmail:purchase-exits"  # a key of live.py's cache, next to the trigger keys


def cancel_queued(deliveries: QuerySet, reason: str, *, now: datetime | None = None) -> list[Delivery]:
    """Cancel the still-scheduled ones among ``deliveries`` with ``reason``; returns them.

    Call inside a transaction. The rows are locked first (PostgreSQL re-checks their status after
    a worker's claim commits), so a delivery a worker claimed meanwhile is left to the worker and
    never announced as cancelled. ``delivery_status_changed`` is sent for each after commit.
    """
    now = now or timezone.now()
    queued = list(deliveries.filter(status=DeliveryStatus.SCHEDULED).select_for_update().order_by("pk"))
    if not queued:
        return []
    Delivery.objects.filter(pk__in=[d.pk for d in queued], status=DeliveryStatus.SCHEDULED).update(
        status=DeliveryStatus.CANCELLED, reason=reason[:64], updated_at=now
    )
    for delivery in queued:
        delivery.status, delivery.reason, delivery.updated_at = DeliveryStatus.CANCELLED, reason[:64], now
    transaction.on_commit(lambda: announce_status_change(queued, DeliveryStatus.SCHEDULED))
    return queued


def end_enrollments(enrollments: QuerySet, reason: str, *, status: str = EnrollmentStatus.EXITED) -> list[int]:
    """End the active or paused enrollments among ``enrollments``; returns their primary keys.

    Their queued mail is cancelled (and announced, see :func:`cancel_queued`)."""
    now = timezone.now()
    with transaction.atomic():
        ids = sorted(set(enrollments.filter(status__in=OPEN_STATUSES).values_list("pk", flat=True)))
        if not ids:
            return []
        cancel_queued(Delivery.objects.filter(enrollment_id__in=ids), reason, now=now)
        Enrollment.objects.filter(pk__in=ids, status__in=OPEN_STATUSES).update(
            status=status, exit_reason=reason[:64], ended_at=now, paused_at=None
        )
    return ids


def exit_after_purchase(
    *,
    email: str,
    user_id: int | None,
    order: Any,
    placed_at: datetime,
    product_ids: Iterable[int] = (),
) -> list[int]:
    """End what a purchase ends for this customer: sequences that stop on any purchase (and
    triggers such as abandoned baskets), and sequences that stop on one of ``product_ids``.

    The order's own enrollments and enrollments that started after it are left alone.
    """
    people = Q(email=email) if email else Q(pk__in=[])
    if user_id:
        people |= Q(user_id=user_id)
    contacts = Contact.objects.filter(people)
    any_purchase, by_product = purchase_exit_rules()
    stops = Q(sequence_id__in=any_purchase)
    on_purchase = [t.key for t in registry.all() if t.exits_on_purchase]
    if on_purchase:
        stops |= Q(trigger__in=on_purchase)
    bought = set(product_ids)
    stops |= Q(sequence_id__in=[pk for pk, products in by_product.items() if products & bought])
    order_type = ContentType.objects.get_for_model(order)
    enrollments = (
        Enrollment.objects.filter(contact__in=contacts, anchor_at__lte=placed_at)
        .filter(stops)
        .exclude(object_type=order_type, object_id=str(order.pk))
    )
    return end_enrollments(enrollments, "purchased")


def purchase_exit_rules() -> tuple[list[int], dict[int, set[int]]]:
    """Sequences (published or not) that stop on any purchase, and those that stop on chosen
    products with the products; kept with the live-sequence cache (``live.py``), which every
    sequence change clears, so an order normally reads no sequence table."""
    return live.cached(EXIT_RULES_KEY, _load_purchase_exit_rules)


def _load_purchase_exit_rules(_key: str) -> tuple[list[int], dict[int, set[int]]]:
    from .entry import load_rule_lists

    any_purchase = list(SequencePage.objects.filter(exit_on_purchase=True).values_list("pk", flat=True))
    through = SequencePage._meta.get_field("exit_products").remote_field.through
    ids = list(set(through.objects.values_list("sequencepage_id", flat=True)))
    lists = load_rule_lists(ids, exits=True)
    return any_purchase, {pk: lists[pk].exit_products for pk in ids}


def exit_for_object(obj: Any, reason: str) -> list[int]:
    """End the enrollments ``obj`` (an order, a basket…) started, e.g. when an order is cancelled."""
    object_type = ContentType.objects.get_for_model(obj)
    return end_enrollments(Enrollment.objects.filter(object_type=object_type, object_id=str(obj.pk)), reason)
