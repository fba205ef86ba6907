"""Signals sent by stepmail_plugin.

``delivery_status_changed``
    Sent after a delivery's status changed and the change is committed.
    Arguments: ``sender`` (the ``Delivery`` class), ``delivery`` (the instance),
    ``old_status`` and ``new_status`` (:class:`~stepmail_plugin.models.DeliveryStatus` values).

``enrollment_created``
    Sent after enrollments are committed. Arguments: ``sender`` (the ``Enrollment`` class),
    ``enrollments`` (a list).
"""

import django.dispatch

delivery_status_changed = django.dispatch.Signal()
enrollment_created = django.dispatch.Signal()
