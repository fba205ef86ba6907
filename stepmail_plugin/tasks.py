"""django-q2 entry points. Each is small and safe to run twice at once."""

from __future__ import annotations

from typing import Any


def dispatch_due(**kwargs: Any) -> dict[str, Any]:
    """Send every due step mail (one scheduler tick). Scheduled every minute by stepmail_setup."""
    from .dispatch import dispatch_due as run

    return run(**kwargs).as_dict()


def tracking_maintenance(**kwargs: Any) -> dict[str, Any]:
    """Hourly: resolve uncertain sends proven by ESP events, evaluate A/B tests and promote the
    winners of steps set to promote automatically (see docs/metrics.md)."""
    from .tracking.abtest import PROMOTED, evaluate_all
    from .tracking.events import resolve_uncertain_with_events

    resolved = resolve_uncertain_with_events()
    results = evaluate_all()
    return {
        "uncertain_resolved": resolved,
        "ab_tests": len(results),
        "ab_promoted": [r.step.pk for r in results if r.status == PROMOTED],
    }


def cleanup_vouchers() -> int:
    """Delete coupons issued by step mail that expired unused. Scheduled daily by stepmail_setup."""
    from .commerce.vouchers import cleanup_expired_vouchers

    return cleanup_expired_vouchers()


def scan_baskets(**kwargs: Any) -> dict[str, Any]:
    """Enroll owners of abandoned baskets (``basket_abandoned``)."""
    from .triggers.baskets import scan_abandoned_baskets

    return scan_abandoned_baskets()


def scan_browsing(**kwargs: Any) -> dict[str, Any]:
    """Enroll customers whose viewed products stayed unbought (``product_browsed``)."""
    from .triggers.browsing import scan_browsing as run

    return run()


def scan_dates(**kwargs: Any) -> dict[str, Any]:
    """Enroll customers on their birthday or anniversary in their time zone."""
    from .triggers.dates import scan_dates as run

    return run()


def scan_dormant(**kwargs: Any) -> dict[str, Any]:
    """Enroll customers whose last order is older than the threshold (``customer_dormant``)."""
    from .triggers.dates import scan_dormant as run

    return run()


def prune_delivery_logs(**kwargs: Any) -> dict[str, int]:
    """Apply STEPMAIL["DELIVERY_RETENTION_DAYS"]. Scheduled daily by stepmail_setup."""
    from .privacy import prune_delivery_logs as run

    return run(**kwargs)
