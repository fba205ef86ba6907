"""``manage.py demo_simulate``: a guest buys two tops; watch a week of step mail in seconds.

Places a real Oscar order (the plugin enrolls the buyer in the apparel after-purchase
sequence), then jumps the clock to day 0, just before day 3, and days 3, 5 and 7 after the order,
running the dispatcher each time. Every mail is printed by the email backend and kept in
``example_project/outbox/``. Each run uses a new order and address, so it can be repeated.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from demo.orders import CUSTOMER, place_demo_order
from demo.scenarios import APPAREL_AFTER_PURCHASE
from demo.simulation import offset_label, dispatch_at, moments_for
from stepmail_plugin.models import DeliveryStatus, Enrollment, SequencePage


class Command(BaseCommand):
    help = "Place a demo order and fast-forward a week: the apparel step mails go out on time."

    def handle(self, *args, **options):
        sequence = SequencePage.objects.live().filter(slug=APPAREL_AFTER_PURCHASE.slug).first()
        if sequence is None:
            raise CommandError(
                "The apparel sequence is not published; run `manage.py load_demo` first."
            )
        steps = list(sequence.get_steps().live())
        expected = len(steps)

        try:
            demo = place_demo_order()
        except LookupError as error:
            raise CommandError(str(error)) from error
        order = demo.order
        lines = ", ".join(f"{line.title} ×{line.quantity}" for line in order.lines.all())
        self.stdout.write(self.style.MIGRATE_HEADING("Demo order placed (Oscar OrderCreator)"))
        self.stdout.write(f"  order {order.number}: {lines}, total ¥{order.total_incl_tax:,.0f}")
        name = f"{CUSTOMER['last_name']} {CUSTOMER['first_name']}"
        self.stdout.write(f"  customer: {name} <{demo.email}> (guest checkout)")

        enrollment = (
            Enrollment.objects.filter(sequence=sequence, object_id=str(order.pk))
            .select_related("contact")
            .first()
        )
        if enrollment is None:
            raise CommandError(
                f"The order did not enroll its customer in “{sequence.title}” (see the log above)."
            )
        anchor = enrollment.anchor_at
        self.stdout.write(
            f"  enrolled in “{sequence.title}” ({expected} steps), clock starts "
            f"{self._when(anchor)}"
        )

        for moment in moments_for(steps):
            when = self._when(anchor + moment.offset)
            self.stdout.write(self.style.MIGRATE_HEADING(f"\n== {when}  {moment.label} =="))
            tick = dispatch_at(moment, anchor)
            for delivery in tick.sent:
                self.stdout.write(self.style.SUCCESS(
                    f"  SENT {self._when(tick.at)}  to {delivery.to_email}  "
                    f"subject 「{delivery.subject}」"
                ))
            if not tick.sent:
                self.stdout.write("  nothing due yet: no mail sent")
            problems = tick.result.failed + tick.result.retried + tick.result.skipped
            if problems:
                self.stdout.write(self.style.WARNING(f"  dispatcher: {tick.result.as_dict()}"))

        sent = enrollment.deliveries.filter(status=DeliveryStatus.SENT).order_by("due_at")
        enrollment.refresh_from_db()
        self.stdout.write(self.style.MIGRATE_HEADING("\nSummary"))
        for delivery in sent:
            self.stdout.write(f"  {offset_label(delivery.due_at - anchor)}: 「{delivery.subject}」")
        count = sent.count()
        message = (
            f"{count} of {expected} mails of the apparel scenario “{sequence.title}” sent to "
            f"{demo.email}; enrollment {enrollment.status}. "
            "Mails as .eml files: example_project/outbox/"
        )
        if count != expected:
            raise CommandError(message)
        self.stdout.write(self.style.SUCCESS(message))

    @staticmethod
    def _when(moment) -> str:
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")
