import json

from django.core.management.base import BaseCommand

from stepmail_plugin.dispatch import dispatch_due


class Command(BaseCommand):
    help = "Send every due step mail once (one scheduler tick; for cron instead of django-q2)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--max-seconds", type=float, default=None)
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        result = dispatch_due(batch_size=options["batch_size"], max_seconds=options["max_seconds"])
        data = result.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(data))
            return
        self.stdout.write(
            "sent {sent}, failed {failed}, skipped {skipped}, retrying {retried} "
            "(batches {batches}, released {released}, uncertain {uncertain})".format(**data)
        )
