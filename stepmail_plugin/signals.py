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

import django.dispatch

delivery_status_changed = django.dispatch.Signal()
enrollment_created = django.dispatch.Signal()
contact_erased = django.dispatch.Signal()
