"""Step mail (ステップメール) for django-oscar stores, written as Wagtail pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from datetime import datetime

    from .models import Enrollment

__version__ = "0.1.0"


def enroll(
    contact_or_user_or_email: Any,
    trigger: str,
    *,
    obj: Any = None,
    at: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> list[Enrollment]:
    """Enroll a person in every published sequence whose trigger is ``trigger``.

    ``contact_or_user_or_email`` is a :class:`~stepmail_plugin.models.Contact`, a user or an email
    address. ``obj`` is the object that started it (an order, a basket…), ``at`` the anchor time
    step delays count from (default: now), ``context`` plain JSON values for merge fields.
    Returns the enrollments created (none for a person already enrolled, unless the trigger is
    per object and ``obj`` is new). See ``docs/triggers.md``.
    """
    from .enrollment import enroll as _enroll

    return _enroll(contact_or_user_or_email, trigger, obj=obj, at=at, context=context)
