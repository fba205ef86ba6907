from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy as _

from stepmail_plugin.schedules import ensure_schedules


class Command(BaseCommand):
    help = _("Create the django-q2 schedules of stepmail_plugin (safe to run again).")

    STATES = {
        "created": _("created"),
        "updated": _("updated"),
        "unchanged": _("unchanged"),
    }

    def handle(self, *args, **options):
        for name, state in ensure_schedules():
            self.stdout.write(f"{name}: {self.STATES.get(state, state)}")
