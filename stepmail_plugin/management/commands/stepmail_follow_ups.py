from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from stepmail_plugin.followups import failed, retry_failed


class Command(BaseCommand):
    help = _(
        "List the follow-up work of orders (ending sequences, crediting orders to mails) that failed "
        "every retry, or queue it again once the cause is fixed."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--retry", type=int, nargs="+", metavar="ID",
                           help=_("Queue these failed follow-ups again for the next tick."))
        group.add_argument("--retry-all", action="store_true",
                           help=_("Queue every failed follow-up again for the next tick."))

    def handle(self, *args, **options):
        if options["retry"] or options["retry_all"]:
            count = retry_failed(None if options["retry_all"] else options["retry"])
            self.stdout.write(_("%(count)d queued again for the next tick") % {"count": count})
            return
        rows = list(failed())
        for row in rows:
            error = (row.error.splitlines() or [""])[0]
            self.stdout.write(
                f"{row.pk}\t{row.kind}\t{row.object_id}\t{row.attempts}\t"
                f"{row.failed_at:%Y-%m-%d %H:%M}\t{error}"
            )
        if not rows:
            self.stdout.write(_("No failed follow-ups."))
