from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from stepmail_plugin.tracking.simulate import Rates, simulate


class Command(BaseCommand):
    help = gettext_lazy(
        "Simulate opens, clicks, bounces, unsubscribes and orders for recently sent step mails, "
        "through anymail's tracking signal (or its real Postmark webhook view), to see the reports "
        "work without an ESP. For demos and staging only: the orders are real Oscar orders."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sequence", type=int, help=gettext_lazy("Only mails of this sequence (page id)."))
        parser.add_argument("--days", type=int, default=30,
                            help=gettext_lazy("Mails sent in the last N days (default 30)."))
        parser.add_argument("--open-rate", type=float, default=0.45, help=gettext_lazy("Share of mails opened."))
        parser.add_argument("--click-rate", type=float, default=0.35, help=gettext_lazy("Share of openers who click."))
        parser.add_argument("--order-rate", type=float, default=0.25, help=gettext_lazy("Share of clickers who order."))
        parser.add_argument("--bounce-rate", type=float, default=0.02, help=gettext_lazy("Share of mails that bounce."))
        parser.add_argument("--unsubscribe-rate", type=float, default=0.01,
                            help=gettext_lazy("Share of recipients who unsubscribe."))
        parser.add_argument("--seed", type=int, default=1, help=gettext_lazy("Same seed, same simulation."))
        parser.add_argument("--via", choices=["signal", "webhook"], default="signal",
                            help=gettext_lazy("signal: anymail's tracking signal; webhook: anymail's Postmark "
                                              "webhook view with ANYMAIL['WEBHOOK_SECRET']."))
        parser.add_argument("--no-orders", action="store_true", help=gettext_lazy("Do not place orders."))

    def handle(self, *args, **options):
        for name in ("open_rate", "click_rate", "order_rate", "bounce_rate", "unsubscribe_rate"):
            if not 0 <= options[name] <= 1:
                raise CommandError(_("--%(option)s must be between 0 and 1") % {"option": name.replace("_", "-")})
        rates = Rates(open=options["open_rate"], click=options["click_rate"], order=options["order_rate"],
                      bounce=options["bounce_rate"], unsubscribe=options["unsubscribe_rate"])
        done = simulate(
            sequence_id=options["sequence"], days=options["days"], rates=rates, seed=options["seed"],
            via=options["via"], place_orders=not options["no_orders"],
            progress=lambda items: tqdm(items, disable=options["verbosity"] < 1 or not items, file=self.stderr),
        )
        self.stdout.write(
            _("delivered %(delivered)d, opened %(opened)d, clicked %(clicked)d, bounced %(bounced)d, "
              "unsubscribed %(unsubscribed)d; orders %(orders)d (credited to a mail: %(credited)d)")
            % {k: done.get(k, 0) for k in ("delivered", "opened", "clicked", "bounced", "unsubscribed",
                                           "orders", "credited")}
        )
