from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from stepmail_plugin.tracking.simulate import Rates, simulate


class Command(BaseCommand):
    help = (
        "Simulate opens, clicks, bounces, unsubscribes and orders for recently sent step mails, "
        "through anymail's tracking signal (or its real Postmark webhook view), to see the reports "
        "work without an ESP. For demos and staging only: the orders are real Oscar orders."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sequence", type=int, help="Only mails of this sequence (page id).")
        parser.add_argument("--days", type=int, default=30, help="Mails sent in the last N days (default 30).")
        parser.add_argument("--open-rate", type=float, default=0.45)
        parser.add_argument("--click-rate", type=float, default=0.35, help="Share of openers who click.")
        parser.add_argument("--order-rate", type=float, default=0.25, help="Share of clickers who order.")
        parser.add_argument("--bounce-rate", type=float, default=0.02)
        parser.add_argument("--unsubscribe-rate", type=float, default=0.01)
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same simulation.")
        parser.add_argument("--via", choices=["signal", "webhook"], default="signal",
                            help="signal: anymail's tracking signal; webhook: anymail's Postmark webhook view "
                                 "with ANYMAIL['WEBHOOK_SECRET'].")
        parser.add_argument("--no-orders", action="store_true", help="Do not place orders.")

    def handle(self, *args, **options):
        for name in ("open_rate", "click_rate", "order_rate", "bounce_rate", "unsubscribe_rate"):
            if not 0 <= options[name] <= 1:
                raise CommandError(f"--{name.replace('_', '-')} must be between 0 and 1")
        rates = Rates(open=options["open_rate"], click=options["click_rate"], order=options["order_rate"],
                      bounce=options["bounce_rate"], unsubscribe=options["unsubscribe_rate"])
        done = simulate(
            sequence_id=options["sequence"], days=options["days"], rates=rates, seed=options["seed"],
            via=options["via"], place_orders=not options["no_orders"],
            progress=lambda items: tqdm(items, disable=options["verbosity"] < 1 or not items, file=self.stderr),
        )
        self.stdout.write(
            "delivered {delivered}, opened {opened}, clicked {clicked}, bounced {bounced}, "
            "unsubscribed {unsubscribed}; orders {orders} (credited to a mail: {credited})".format(
                **{k: done.get(k, 0) for k in ("delivered", "opened", "clicked", "bounced", "unsubscribed",
                                               "orders", "credited")})
        )
