"""Report views (Wagtail's ``ReportView``: filters, pagination, CSV and XLSX export) and the
dashboard panel. Shown to users who may add, edit or publish pages, like Wagtail's own reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views.reports import ReportView
from wagtail.models import Page
from wagtail.permissions import policy_registry

from ..models import Delivery, DeliveryStatus, Enrollment, SequencePage, StepEmailPage
from ..tracking import abtest
from ..tracking.metrics import Counts, count_deliveries, totals
from ..tracking.uplift import holdout_uplift
from .chart import funnel_chart
from .funnel import sequence_report

REPORT_PERMISSIONS = ["add", "change", "publish"]


def user_may_see_reports(user) -> bool:
    """Who sees step-mail reports: anyone who may add, edit or publish pages."""
    return policy_registry.get_by_type(Page).user_has_any_permission(user, REPORT_PERMISSIONS)


class CohortFilterSet(WagtailFilterSet):
    enrolled = django_filters.DateFromToRangeFilter(
        field_name="anchor_at",
        label=gettext_lazy("Entered the sequence"),
        widget=DateRangePickerWidget,
        help_text=gettext_lazy("People who entered in this period, and everything sent to them."),
    )

    class Meta:
        model = Enrollment
        fields: list[str] = []


class StepMailReportMixin:
    any_permission_required = REPORT_PERMISSIONS
    filterset_class = CohortFilterSet
    header_icon = "mail"
    is_searchable = False  # rows are computed, not searched

    @cached_property
    def permission_policy(self):
        return policy_registry.get_by_type(Page)

    def cohort(self, enrollments):
        """Enrollments narrowed by the date filter."""
        if self.filters and self.filters.is_valid():
            return self.filters.filter_queryset(enrollments)
        return enrollments

    def filter_queryset(self, queryset):
        return queryset  # rows are computed from an already filtered cohort

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        # Wagtail's header shows any ``search_form`` in the context; without our own None, a shop's
        # context processor (Oscar's product search) would put a search box there that searches
        # nothing in a report.
        context["search_form"] = None
        return context


# -- all sequences --------------------------------------------------------------------------------

class SequenceSummary:
    def __init__(self, sequence: SequencePage, enrolled: int, held_out: int, counts: Counts):
        self.pk = sequence.pk
        self.title = sequence.title
        self.live = sequence.live
        self.trigger = sequence.trigger
        self.holdout_percent = sequence.holdout_percent
        self.enrolled = enrolled
        self.held_out = held_out
        self.counts = counts

    def __getattr__(self, name):
        counts = self.__dict__.get("counts")
        if counts is not None and hasattr(counts, name):
            return getattr(counts, name)
        raise AttributeError(name)

    @staticmethod
    def _pct(value):
        return None if value is None else round(value * 100, 2)

    @property
    def open_rate_pct(self):
        return self._pct(self.counts.open_rate)

    @property
    def click_rate_pct(self):
        return self._pct(self.counts.click_rate)

    @property
    def conversion_rate_pct(self):
        return self._pct(self.counts.conversion_rate)

    @property
    def unsubscribe_rate_pct(self):
        return self._pct(self.counts.unsubscribe_rate)


class PercentColumn(Column):
    def get_value(self, instance):
        value = super().get_value(instance)
        return "—" if value is None else f"{value:.1f}%"


class SequencesReportView(StepMailReportMixin, ReportView):
    """Every sequence with its totals: the entry to the per-sequence reports."""

    page_title = gettext_lazy("Step mail")
    index_url_name = "stepmail_reports:index"
    index_results_url_name = "stepmail_reports:index_results"
    paginate_by = 50
    export_filename = "stepmail-sequences"
    list_export = ["title", "enrolled", "held_out", "sent", "delivered", "opened", "open_rate_pct", "clicked",
                   "click_rate_pct", "converted", "conversion_rate_pct", "revenue", "unsubscribed",
                   "unsubscribe_rate_pct", "bounced", "failed"]
    export_headings = {
        "title": gettext_lazy("Sequence"), "enrolled": gettext_lazy("Entered"),
        "held_out": gettext_lazy("Held out"), "sent": gettext_lazy("Sent"),
        "delivered": gettext_lazy("Delivered"), "opened": gettext_lazy("Opened"),
        "open_rate_pct": gettext_lazy("Open rate (%)"), "clicked": gettext_lazy("Clicked"),
        "click_rate_pct": gettext_lazy("Click rate (%)"), "converted": gettext_lazy("Converted"),
        "conversion_rate_pct": gettext_lazy("Conversion rate (%)"), "revenue": gettext_lazy("Revenue"),
        "unsubscribed": gettext_lazy("Unsubscribed"), "unsubscribe_rate_pct": gettext_lazy("Unsubscribe rate (%)"),
        "bounced": gettext_lazy("Bounced"), "failed": gettext_lazy("Failed"),
    }

    @property
    def columns(self):
        return [
            TitleColumn("title", label=_("Sequence"),
                        get_url=lambda row: reverse("stepmail_reports:sequence", args=[row.pk])),
            Column("enrolled", label=_("Entered")),
            Column("sent", label=_("Sent")),
            PercentColumn("open_rate_pct", label=_("Open rate")),
            PercentColumn("click_rate_pct", label=_("Click rate")),
            Column("converted", label=_("Converted")),
            Column("revenue", label=_("Revenue")),
            PercentColumn("unsubscribe_rate_pct", label=_("Unsubscribe rate")),
            Column("holdout_percent", label=_("Holdout %")),
        ]

    def get_queryset(self):
        enrollments = self.cohort(Enrollment.objects.all())
        sequences = list(SequencePage.objects.order_by("path"))
        entered = {
            row["sequence_id"]: row for row in enrollments.values("sequence_id").annotate(
                n=Count("pk"), held=Count("pk", filter=Q(holdout=True)))
        }
        counts = count_deliveries(
            Delivery.objects.filter(enrollment__in=enrollments.values("pk")), ["enrollment__sequence_id"]
        )
        return [
            SequenceSummary(s, entered.get(s.pk, {}).get("n", 0), entered.get(s.pk, {}).get("held", 0),
                            counts.get((s.pk,), Counts()))
            for s in sequences
        ]


# -- one sequence -------------------------------------------------------------------------------

class SequenceReportView(StepMailReportMixin, ReportView):
    """The funnel of one sequence: chart, table per step, drop-off, links, A/B tests, holdout."""

    template_name = "stepmail/reports/sequence.html"
    results_template_name = "stepmail/reports/sequence_results.html"
    paginate_by = None
    list_export = [
        "position", "title", "delay", "sent", "delivered", "opened", "open_rate_pct", "clicked", "click_rate_pct",
        "click_to_open_pct", "converted", "conversion_rate_pct", "revenue", "unsubscribed", "unsubscribe_rate_pct",
        "complained", "bounced", "bounce_rate_pct", "failed", "skipped", "cancelled", "pending", "uncertain",
        "dropped", "dropoff_pct", "skip_reasons", "drop_reasons_text",
    ]
    export_headings = {
        "position": gettext_lazy("Step"), "title": pgettext_lazy("stepmail", "Title"), "delay": gettext_lazy("Sent after"),
        "sent": gettext_lazy("Sent"), "delivered": gettext_lazy("Delivered"), "opened": gettext_lazy("Opened"),
        "open_rate_pct": gettext_lazy("Open rate (%)"), "clicked": gettext_lazy("Clicked"),
        "click_rate_pct": gettext_lazy("Click rate (%)"), "click_to_open_pct": gettext_lazy("Click-to-open (%)"),
        "converted": gettext_lazy("Converted"), "conversion_rate_pct": gettext_lazy("Conversion rate (%)"),
        "revenue": gettext_lazy("Revenue"), "unsubscribed": gettext_lazy("Unsubscribed"),
        "unsubscribe_rate_pct": gettext_lazy("Unsubscribe rate (%)"), "complained": gettext_lazy("Complaints"),
        "bounced": gettext_lazy("Bounced"), "bounce_rate_pct": gettext_lazy("Bounce rate (%)"),
        "failed": gettext_lazy("Failed"), "skipped": gettext_lazy("Skipped"), "cancelled": gettext_lazy("Cancelled"),
        "pending": gettext_lazy("Waiting to be sent"), "uncertain": gettext_lazy("Uncertain"),
        "dropped": gettext_lazy("Did not get the next step"), "dropoff_pct": gettext_lazy("Drop-off (%)"),
        "skip_reasons": gettext_lazy("Not sent, by reason"), "drop_reasons_text": gettext_lazy("Drop-off reasons"),
    }

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.sequence = get_object_or_404(SequencePage, pk=kwargs["pk"])

    def get_page_title(self):
        return _("Step mail report: %(title)s") % {"title": self.sequence.title}

    def get_index_url(self):
        return reverse("stepmail_reports:sequence", args=[self.sequence.pk])

    def get_index_results_url(self):
        return reverse("stepmail_reports:sequence_results", args=[self.sequence.pk])

    def get_filename(self):
        return f"stepmail-{self.sequence.slug or self.sequence.pk}"

    @property
    def breadcrumbs_items(self):
        return [{"url": reverse("stepmail_reports:index"), "label": _("Step mail")}]

    def get_queryset(self):
        self.enrollments = self.cohort(Enrollment.objects.filter(sequence=self.sequence))
        self.report = sequence_report(self.sequence, self.enrollments)
        return self.report.rows

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        report = self.report
        bounds = {}
        if self.filters and self.filters.is_valid():
            value = self.filters.form.cleaned_data.get("enrolled")
            if value:
                bounds = {"since": value.start, "until": value.stop}
        ab_results = []
        for row in report.rows:
            if row.has_variants and row.step_id:
                step = StepEmailPage.objects.get(pk=row.step_id)
                result = abtest.evaluate(step)
                if result is not None:
                    ab_results.append((row, result, step.permissions_for_user(self.request.user).can_publish()))
        context.update({
            "sequence": self.sequence,
            "report": report,
            "chart": funnel_chart(report.rows),
            "uplift": holdout_uplift(self.sequence.pk, **bounds)
            if self.sequence.holdout_percent or report.held_out else None,
            "ab_results": ab_results,
        })
        return context


@require_POST
def promote_winner(request: HttpRequest, step_id: int) -> HttpResponse:
    """Promote the current winner of a step's A/B test (publish permission on the step)."""
    step = get_object_or_404(StepEmailPage, pk=step_id)
    if not step.permissions_for_user(request.user).can_publish():
        raise PermissionDenied
    result = abtest.evaluate(step)
    if result is None or result.status != abtest.WINNER:
        messages.error(request, _("There is no winner to promote yet."))
    else:
        abtest.promote(result, user=request.user)
        messages.success(request, _("“%(label)s” now goes to everyone.") % {"label": result.winner.label})
    return redirect("stepmail_reports:sequence", step.get_parent().pk)


@require_POST
def restart_test(request: HttpRequest, step_id: int) -> HttpResponse:
    """Forget a step's A/B decision so its variants are tested again."""
    step = get_object_or_404(StepEmailPage, pk=step_id)
    if not step.permissions_for_user(request.user).can_publish():
        raise PermissionDenied
    abtest.restart(step)
    messages.success(request, _("The A/B test of “%(title)s” runs again.") % {"title": step.title})
    return redirect("stepmail_reports:sequence", step.get_parent().pk)


# -- dashboard -----------------------------------------------------------------------------------

class StepMailPanel(Component):
    """Today's sends, the last 7 days' rates and what needs attention, on the Wagtail dashboard."""

    name = "stepmail"
    template_name = "stepmail/reports/dashboard_panel.html"
    order = 150

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        from ..admin.actions import ATTENTION_WINDOW, needs_attention

        now = timezone.now()
        today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        week = totals(Delivery.objects.filter(sent_at__gte=now - timedelta(days=7), sent_at__lte=now))
        failed = Delivery.objects.filter(status=DeliveryStatus.FAILED, updated_at__gte=now - ATTENTION_WINDOW)
        attention = Delivery.objects.filter(needs_attention(now)).aggregate(
            failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
            uncertain=Count("pk", filter=Q(status=DeliveryStatus.UNCERTAIN)),
        )
        from ..followups import failed as failed_follow_ups

        # Work an order left for the dispatcher that failed every retry: kept for staff to see.
        follow_ups_failed = failed_follow_ups().count()
        request = (parent_context or {}).get("request")
        user = getattr(request, "user", None)
        attention_url = None
        if user is not None and user.has_perm("stepmail.view_delivery"):
            # Only staff who may see customers' deliveries get the list behind the count.
            attention_url = reverse("stepmail_delivery_modeladmin_index") + "?attention=recent"
        return {
            # Bounded by now as well: a clock moved back (a demo's simulated week) must not count
            # mails dated later.
            "sent_today": Delivery.objects.filter(status=DeliveryStatus.SENT, sent_at__gte=today,
                                                  sent_at__lte=now).count(),
            "week": week,
            "attention": attention["failed"] + attention["uncertain"],
            "failed_recent": attention["failed"],
            "uncertain": attention["uncertain"],
            "failed_reasons": list(failed.values("reason").annotate(n=Count("pk")).order_by("-n")[:5])
            if attention["failed"] else [],
            "attention_url": attention_url,
            "follow_ups_failed": follow_ups_failed,
            "failed_follow_ups": list(failed_follow_ups()[:5]) if follow_ups_failed else [],
            # Due more than 15 minutes ago and still waiting: the dispatcher may not be running.
            "overdue": Delivery.objects.filter(
                status=DeliveryStatus.SCHEDULED, due_at__lt=now - timedelta(minutes=15),
                enrollment__status="active", enrollment__sequence__live=True,
            ).count(),
            "report_url": reverse("stepmail_reports:index"),
        }

    def render_html(self, parent_context: Any = None) -> str:
        request = (parent_context or {}).get("request")
        if request is None or not user_may_see_reports(request.user):
            return ""
        return super().render_html(parent_context)
