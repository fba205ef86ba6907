from django.core.management.base import BaseCommand

from stepmail_plugin.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Create the django-q2 schedules of stepmail_plugin (safe to run again)."

    def handle(self, *args, **options):
        for name, state in ensure_schedules():
            self.stdout.write(f"{name}: {state}")
