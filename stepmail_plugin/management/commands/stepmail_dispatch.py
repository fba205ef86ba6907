import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from stepmail_plugin.dispatch import dispatch_due


class Command(BaseCommand):
    help = gettext_lazy("Send every due step mail once (one scheduler tick; for cron instead of django-q2).")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None,
                            help=gettext_lazy("How many mails one batch claims (default: STEPMAIL['BATCH_SIZE'])."))
        parser.add_argument("--max-seconds", type=float, default=None,
                            help=gettext_lazy("Stop handing mails over after this many seconds; the rest goes out "
                                              "on the next tick."))
        parser.add_argument("--json", action="store_true", help=gettext_lazy("Print the result as JSON."))

    def handle(self, *args, **options):
        result = dispatch_due(batch_size=options["batch_size"], max_seconds=options["max_seconds"])
        data = result.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(data))
            return
        self.stdout.write(
            _("sent %(sent)d, failed %(failed)d, skipped %(skipped)d, retrying %(retried)d "
              "(batches %(batches)d, released %(released)d, uncertain %(uncertain)d)") % data
        )
