"""What the periodic scans (baskets, browsing, dates, dormant customers) share."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from ..conf import stepmail_settings
from ..models import Enrollment, SequencePage

logger = logging.getLogger("stepmail_plugin.triggers")


def live_sequences(trigger_key: str) -> list[SequencePage]:
    """Published sequences of a trigger (each scan handles each sequence with its own threshold)."""
    return list(SequencePage.objects.live().filter(trigger=trigger_key).order_by("path"))


def threshold(sequence: SequencePage, default: timedelta) -> timedelta:
    return sequence.threshold if sequence.threshold is not None else default


def lookback() -> timedelta:
    return timedelta(days=stepmail_settings.SCAN_LOOKBACK_DAYS)


def user_consent() -> str:
    """Consent source for a signed-in customer: their registration, if the shop counts it."""
    return "registration" if stepmail_settings.REGISTRATION_IS_CONSENT else ""


def enrolled_keys(sequence: SequencePage, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` already have an enrollment in ``sequence`` (one query)."""
    keys = list(set(keys))
    if not keys:
        return set()
    return set(Enrollment.objects.filter(sequence=sequence, key__in=keys).values_list("key", flat=True))


def enroll_quietly(*args: Any, **kwargs: Any) -> int:
    """Enroll one person; a failure is logged and the scan goes on. Returns how many enrolled."""
    from ..enrollment import enroll

    try:
        return len(enroll(*args, **kwargs))
    except Exception:
        logger.exception("stepmail: scan enrollment failed (%r)", args[:2])
        return 0


def now():
    return timezone.now()
