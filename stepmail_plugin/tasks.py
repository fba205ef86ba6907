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


def prune_delivery_logs(**kwargs: Any) -> dict[str, int]:
    """Apply STEPMAIL["DELIVERY_RETENTION_DAYS"]. Scheduled daily by stepmail_setup."""
    from .privacy import prune_delivery_logs as run

    return run(**kwargs)
