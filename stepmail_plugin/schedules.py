"""The django-q2 schedules the plugin runs on, created idempotently by ``stepmail_setup``."""

from __future__ import annotations

from dataclasses import dataclass

from .conf import stepmail_settings


@dataclass(frozen=True)
class ScheduleSpec:
    suffix: str
    func: str
    minutes: int


SCHEDULES = [
    ScheduleSpec("dispatch", "stepmail_plugin.tasks.dispatch_due", 1),
    ScheduleSpec("tracking", "stepmail_plugin.tasks.tracking_maintenance", 60),
    ScheduleSpec("vouchers", "stepmail_plugin.tasks.cleanup_vouchers", 24 * 60),
    # Time-based triggers (docs/triggers.md). Each scan is idempotent and catches up after downtime.
    ScheduleSpec("scan_baskets", "stepmail_plugin.tasks.scan_baskets", 10),
    ScheduleSpec("scan_browsing", "stepmail_plugin.tasks.scan_browsing", 15),
    # Hourly, so each customer's own midnight is seen whatever their time zone.
    ScheduleSpec("scan_dates", "stepmail_plugin.tasks.scan_dates", 60),
    ScheduleSpec("scan_dormant", "stepmail_plugin.tasks.scan_dormant", 24 * 60),
    # Daily; does nothing unless STEPMAIL["DELIVERY_RETENTION_DAYS"] is set.
    ScheduleSpec("retention", "stepmail_plugin.tasks.prune_delivery_logs", 24 * 60),
]


def ensure_schedules() -> list[tuple[str, str]]:
    """Create or update the schedules; returns (name, "created" | "updated" | "unchanged")."""
    from django_q.models import Schedule

    report = []
    for spec in SCHEDULES:
        name = f"{stepmail_settings.SCHEDULE_PREFIX}.{spec.suffix}"
        schedule, created = Schedule.objects.get_or_create(
            name=name,
            defaults={
                "func": spec.func,
                "schedule_type": Schedule.MINUTES,
                "minutes": spec.minutes,
                "repeats": -1,
            },
        )
        if created:
            report.append((name, "created"))
            continue
        wanted = {"func": spec.func, "schedule_type": Schedule.MINUTES, "minutes": spec.minutes, "repeats": -1}
        changed = [k for k, v in wanted.items() if getattr(schedule, k) != v]
        for k in changed:
            setattr(schedule, k, wanted[k])
        if changed:
            schedule.save(update_fields=changed)
        report.append((name, "updated" if changed else "unchanged"))
    return report
