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
    consent_source: str = "",
    purchase_relationship: bool = False,
) -> list[Enrollment]:
    """Enroll a person in every published sequence whose trigger is ``trigger``.

    ``contact_or_user_or_email`` is a :class:`~stepmail_plugin.models.Contact`, a user or an email
    address. ``obj`` is the object that started it (an order, a basket…), ``at`` the anchor time
    step delays count from (default: now), ``context`` plain JSON values for merge fields.

    Marketing sequences take only people who opted in, unless the trigger is a purchase
    relationship (an order). ``consent_source``: the person gave consent at this moment (e.g.
    ``"webinar sign-up form"``); recorded, with the time, on a contact whose consent was unknown.
    ``purchase_relationship``: this moment comes from the person's purchases. Nobody who opted
    out is ever enrolled in marketing sequences.

    Returns the enrollments created (none for a person already enrolled, unless the trigger is
    per object and ``obj`` is new). See ``docs/triggers.md``.
    """
    from .enrollment import enroll as _enroll

    return _enroll(contact_or_user_or_email, trigger, obj=obj, at=at, context=context,
                   consent_source=consent_source, purchase_relationship=purchase_relationship)
