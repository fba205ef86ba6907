from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from stepmail_plugin.dispatch import message_id
from stepmail_plugin.rendering import brand
from stepmail_plugin.uncertain import resolve_uncertain, uncertain_deliveries


class Command(BaseCommand):
    help = _(
        "List deliveries that may or may not have gone out (their worker stopped while sending), "
        "or settle them after checking the ESP's log."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--mark-sent", type=int, nargs="+", metavar="ID",
                           help=_("The ESP has these: record them as sent and move on."))
        group.add_argument("--resend", type=int, nargs="+", metavar="ID",
                           help=_("The ESP never got these: send them with the next tick."))

    def handle(self, *args, **options):
        if options["mark_sent"]:
            count = resolve_uncertain(options["mark_sent"], sent=True)
            self.stdout.write(_("%(count)d marked as sent") % {"count": count})
            return
        if options["resend"]:
            count = resolve_uncertain(options["resend"], sent=False)
            self.stdout.write(_("%(count)d scheduled to be sent again") % {"count": count})
            return
        from_email = brand.from_email()
        domain = from_email.rsplit("@", 1)[-1].strip("> ") or "localhost"
        found = False
        for delivery in uncertain_deliveries():
            found = True
            self.stdout.write(
                f"{delivery.pk}\t{delivery.enrollment.contact.email}\t"
                f"{delivery.step.title if delivery.step else delivery.step_path}\t"
                f"{delivery.updated_at:%Y-%m-%d %H:%M}\t{delivery.reason}\t"
                f"{message_id(delivery, domain)}"
            )
        if not found:
            self.stdout.write(_("No uncertain deliveries: every mail handed to the ESP has its answer."))
