"""Back-enroll past orders or users into one sequence.

    manage.py stepmail_enroll <sequence id or slug> [--since 2026-01-01] [--dry-run]

Idempotent (an order or user already in the sequence is left alone) and resumable (run it again,
or continue with ``--start-after`` from the id it printed). Steps whose moment has already passed
are recorded as skipped (``backfill_past``) unless ``--send-past`` sends them now.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from stepmail_plugin.conf import stepmail_settings
from stepmail_plugin.enrollment import enroll, person_from
from stepmail_plugin.flow import skip_past_steps
from stepmail_plugin.models import Enrollment, SequencePage
from stepmail_plugin.triggers.registry import ORDER_PLACED, ORDER_SHIPPED, USER_REGISTERED

SUPPORTED = (ORDER_PLACED.key, ORDER_SHIPPED.key, USER_REGISTERED.key)


def _moment(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(_("Not a date: “%(value)s” (use YYYY-MM-DD or an ISO date-time)") % {"value": value})
        moment = datetime.combine(day, time(0))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = gettext_lazy("Back-enroll past orders or users into a sequence (idempotent, resumable, with --dry-run).")

    def add_arguments(self, parser):
        parser.add_argument("sequence", help=gettext_lazy("Sequence page id or slug."))
        parser.add_argument("--since", help=gettext_lazy("Only orders placed / users registered from this date."))
        parser.add_argument("--until", help=gettext_lazy("…and before this date."))
        parser.add_argument("--start-after", type=int, default=0,
                            help=gettext_lazy("Continue after this order or user id."))
        parser.add_argument("--dry-run", action="store_true", help=gettext_lazy("Count who would enter; change nothing."))
        parser.add_argument("--send-past", action="store_true",
                            help=gettext_lazy("Send steps whose moment has passed now, instead of recording them "
                                              "as skipped."))
        parser.add_argument("--no-progress", action="store_true", help=gettext_lazy("No progress bar."))

    def handle(self, *args, **options):
        sequence = self._sequence(options["sequence"])
        if sequence.trigger not in SUPPORTED:
            raise CommandError(
                _("Back-enrolling supports the triggers %(triggers)s; the scans of “%(trigger)s” catch up "
                  "by themselves (see docs/triggers.md).") % {"triggers": ", ".join(SUPPORTED),
                                                             "trigger": sequence.trigger}
            )
        if not sequence.live:
            raise CommandError(_("The sequence is not published."))
        items = self._items(sequence, options)
        total = items.count()
        counts = {"enrolled": 0, "skipped_steps": 0, "not_enrolled": 0}
        last = options["start_after"]
        progress = tqdm(total=total, unit="item", disable=options["no_progress"], file=self.stderr)
        # A dry run does everything in one transaction and rolls it back: the counts are exact.
        with transaction.atomic() if options["dry_run"] else nullcontext():
            try:
                for item in items.iterator(chunk_size=500):
                    created = self._enroll(sequence, item)
                    if created and not options["send_past"]:
                        for enrollment in created:
                            counts["skipped_steps"] += skip_past_steps(enrollment)
                    counts["enrolled" if created else "not_enrolled"] += 1
                    last = item.pk
                    progress.update(1)
            except KeyboardInterrupt:
                self.stderr.write(_("Interrupted; continue with --start-after %(last)s") % {"last": last})
                raise
            finally:
                progress.close()
            if options["dry_run"]:
                transaction.set_rollback(True)
        if options["dry_run"]:
            summary = _("would enroll %(enrolled)d of %(total)d (not eligible or already enrolled: "
                        "%(not_enrolled)d; past steps recorded as skipped: %(skipped)d); last id %(last)s")
        else:
            summary = _("enrolled %(enrolled)d of %(total)d (not eligible or already enrolled: "
                        "%(not_enrolled)d; past steps recorded as skipped: %(skipped)d); last id %(last)s")
        self.stdout.write(summary % {"enrolled": counts["enrolled"], "total": total,
                                     "not_enrolled": counts["not_enrolled"], "skipped": counts["skipped_steps"],
                                     "last": last})

    def _sequence(self, value: str) -> SequencePage:
        pages = SequencePage.objects.all()
        found = pages.filter(pk=int(value)).first() if value.isdigit() else pages.filter(slug=value).first()
        if found is None:
            raise CommandError(_("No sequence “%(value)s”") % {"value": value})
        return found

    def _items(self, sequence: SequencePage, options):
        since = _moment(options["since"]) if options["since"] else None
        until = _moment(options["until"]) if options["until"] else None
        if sequence.trigger == USER_REGISTERED.key:
            users = get_user_model()._default_manager.exclude(email="").filter(pk__gt=options["start_after"])
            if since:
                users = users.filter(date_joined__gte=since)
            if until:
                users = users.filter(date_joined__lt=until)
            already = Enrollment.objects.filter(sequence=sequence, contact__user_id__isnull=False)
            return users.exclude(pk__in=already.values("contact__user_id")).order_by("pk")
        from oscar.core.loading import get_model

        orders = get_model("order", "Order")._default_manager.filter(pk__gt=options["start_after"]).exclude(
            status__in=list(stepmail_settings.CANCELLED_ORDER_STATUSES)
        )
        if sequence.trigger == ORDER_SHIPPED.key:
            orders = orders.filter(status__in=sequence.statuses)
        if since:
            orders = orders.filter(date_placed__gte=since)
        if until:
            orders = orders.filter(date_placed__lt=until)
        from django.contrib.contenttypes.models import ContentType

        order_type = ContentType.objects.get_for_model(orders.model)
        already = Enrollment.objects.filter(sequence=sequence, object_type=order_type).values_list("object_id", flat=True)
        return orders.exclude(pk__in=[int(pk) for pk in already if pk.isdigit()]).select_related(
            "user", "billing_address", "shipping_address"
        ).order_by("pk")

    def _enroll(self, sequence: SequencePage, item) -> list[Enrollment]:
        match = {"sequence_ids": [sequence.pk]}
        if sequence.trigger == USER_REGISTERED.key:
            consent = "registration" if stepmail_settings.REGISTRATION_IS_CONSENT else ""
            return enroll(person_from(item), sequence.trigger, at=item.date_joined, consent_source=consent, match=match)
        from stepmail_plugin.triggers.orders import person_for_order

        at = item.date_placed
        if sequence.trigger == ORDER_SHIPPED.key:
            change = item.status_changes.filter(new_status__in=sequence.statuses).order_by("-date_created").first()
            at = change.date_created if change else item.date_placed
            match["status"] = item.status
        return enroll(person_for_order(item), sequence.trigger, obj=item, at=at, match=match)
