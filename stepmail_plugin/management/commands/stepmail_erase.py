import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from stepmail_plugin.privacy import erase_contact


class Command(BaseCommand):
    help = _(
        "Erase the personal data step mail holds about these addresses (a right-to-erasure "
        "request): pending mail is cancelled, anonymous counts are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("emails", nargs="+", metavar="EMAIL")
        parser.add_argument(
            "--keep-suppression", action="store_true",
            help=_("Keep their opt-outs, so they are never mailed again even as a new customer."),
        )
        parser.add_argument("--json", action="store_true", help=_("Print the result as JSON."))

    def handle(self, *args, **options):
        results = {}
        for email in options["emails"]:
            results[email] = erase_contact(email, keep_suppression=options["keep_suppression"]).as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(results))
            return
        for email, result in results.items():
            if not result["found"]:
                self.stdout.write(_("%(email)s: no contact with this address") % {"email": email})
                continue
            self.stdout.write(
                _("%(email)s: erased (%(cancelled)d pending mails cancelled, %(ended)d enrollments ended)")
                % {"email": email, "cancelled": result["cancelled_deliveries"],
                   "ended": result["ended_enrollments"]}
            )
