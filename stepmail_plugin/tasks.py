"""django-q2 entry points. Each is small and safe to run twice at once."""

from __future__ import annotations

from typing import Any


def dispatch_due(**kwargs: Any) -> dict[str, Any]:
    """Send every due step mail (one scheduler tick). Scheduled every minute by stepmail_setup."""
    from .dispatch import dispatch_due as run

    return run(**kwargs).as_dict()


def cleanup_vouchers() -> int:
    """Delete coupons issued by step mail that expired unused. Scheduled daily by stepmail_setup."""
    from .commerce.vouchers import cleanup_expired_vouchers

    return cleanup_expired_vouchers()
