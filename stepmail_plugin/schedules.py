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
