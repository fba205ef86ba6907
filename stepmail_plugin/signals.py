"""Signals sent by stepmail_plugin.

``delivery_status_changed``
    Sent after a delivery's status changed and the change is committed.
    Arguments: ``sender`` (the ``Delivery`` class), ``delivery`` (the instance),
    ``old_status`` and ``new_status`` (:class:`~stepmail_plugin.models.DeliveryStatus` values).

``enrollment_created``
    Sent after enrollments are committed. Arguments: ``sender`` (the ``Enrollment`` class),
    ``enrollments`` (a list).

``contact_erased``
    Sent after a contact's personal data was erased (``stepmail_plugin.privacy.erase_contact``),
    for modules holding more of it (tracking logs…) to erase theirs. Arguments: ``sender`` (the
    ``Contact`` class), ``contact`` (the anonymised instance, same pk), ``email`` (the address
    that was erased).
"""

import logging
from collections.abc import Iterable

import django.dispatch

logger = logging.getLogger(__name__)

delivery_status_changed = django.dispatch.Signal()
enrollment_created = django.dispatch.Signal()
contact_erased = django.dispatch.Signal()


def announce_status_change(deliveries: Iterable, old_status: str) -> None:
    """Send ``delivery_status_changed`` for each of ``deliveries`` (call it after commit).

    A receiver's error is logged, never raised: it must not turn an unsubscribe, an exit or a
    staff action into an error.
    """
    from .models import Delivery

    for delivery in deliveries:
        try:
            delivery_status_changed.send(
                sender=Delivery, delivery=delivery, old_status=old_status, new_status=delivery.status
            )
        except Exception:
            logger.exception("stepmail: a delivery_status_changed receiver failed")
