"""Registration trigger: Oscar's ``user_registered`` and users created any other way.

Both signals may fire for the same registration; the enrollment's uniqueness counts it once.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_save

from ..conf import stepmail_settings
from ..enrollment import enroll_safely, person_from
from .registry import USER_REGISTERED

logger = logging.getLogger(__name__)


def _queue(user: Any) -> None:
    user_pk = user.pk
    transaction.on_commit(lambda: enroll_user(user_pk))


def receive_user_created(sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        try:
            _queue(instance)
        except Exception:  # pragma: no cover - defensive
            logger.exception("stepmail: could not queue enrollment for user %s", instance.pk)


def receive_user_registered(sender: Any, user: Any, request: Any = None, **kwargs: Any) -> None:
    try:
        _queue(user)
    except Exception:  # pragma: no cover - defensive
        logger.exception("stepmail: could not queue enrollment for user %s", getattr(user, "pk", None))


def enroll_user(user_pk: int) -> None:
    user = get_user_model().objects.filter(pk=user_pk).first()
    if user is None or not getattr(user, "email", ""):
        return
    consent = "registration" if stepmail_settings.REGISTRATION_IS_CONSENT else ""
    enroll_safely(
        person_from(user), USER_REGISTERED.key, at=user.date_joined, consent_source=consent
    )


def connect() -> None:
    from oscar.apps.customer.signals import user_registered

    post_save.connect(receive_user_created, sender=get_user_model(), dispatch_uid="stepmail.user_created")
    user_registered.connect(receive_user_registered, dispatch_uid="stepmail.user_registered")
