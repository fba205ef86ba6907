"""Read-only panels of the step-mail page editors."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.forms import Media
from django.urls import reverse
from wagtail.admin.panels import Panel
from wagtail.admin.staticfiles import versioned_static

logger = logging.getLogger(__name__)

#: Who may follow the timeline's links to the deliveries listing.
DELIVERY_VIEW_PERMISSION = "stepmail.view_delivery"


class SequenceTimelinePanel(Panel):
    """The sequence's steps as a timeline (right away → 3 days later → …): each step's timing,
    subject and state, how many people wait for it, and what became of what was sent.

    Read-only (it adds no form field), and not shown while a new sequence is being created.
    The numbers come from :func:`stepmail_plugin.reports.timeline.sequence_timeline` in a fixed
    number of queries.
    """

    class BoundPanel(Panel.BoundPanel):
        template_name = "stepmail/editor/timeline_panel.html"

        @property
        def media(self) -> Media:
            # The subjects' merge-field chips (versioned as the picker's media loads it).
            return Media(css={"all": [versioned_static("stepmail/merge-fields.css")]})

        def is_shown(self) -> bool:
            return self.instance is not None and self.instance.pk is not None

        def get_context_data(self, parent_context: Any = None) -> dict[str, Any]:
            from .editor.mergefields import readable_merge_text
            from .editor.ordering import order_error
            from .reports.timeline import sequence_timeline
            from .reports.views import user_may_see_reports

            context = super().get_context_data(parent_context)
            user = getattr(self.request, "user", None)
            try:
                timeline = sequence_timeline(self.instance)
            except Exception:  # the timeline is a courtesy: never break the page editor
                logger.exception("stepmail: the timeline of sequence %s failed", self.instance.pk)
                context["timeline"] = None
                return context
            # Customers' deliveries only for those who may see them; the counts are the
            # same aggregate numbers the reports show to every editor.
            deliveries_url = None
            if user is not None and user.has_perm(DELIVERY_VIEW_PERMISSION):
                deliveries_url = reverse("stepmail_delivery_modeladmin_index")
            for entry in timeline.steps:
                entry.edit_url = reverse("wagtailadmin_pages:edit", args=[entry.step.pk])
                entry.links = _delivery_links(deliveries_url, entry.step.pk) if deliveries_url else {}
                # 「{名}へ…」 rather than the raw {{ first_name|default:"…" }} tag.
                entry.subject_display = readable_merge_text(entry.subject) if entry.subject else ""
            context.update(
                # Steps out of time order (moved by code, or by a path that skipped our checks):
                # the later mail would go out first, so say it where the steps are listed.
                order_warning=order_error([entry.step for entry in timeline.steps]),
                timeline=timeline,
                add_step_url=reverse(
                    "wagtailadmin_pages:add", args=["stepmail", "stepemailpage", self.instance.pk]
                ),
                report_url=reverse("stepmail_reports:sequence", args=[self.instance.pk])
                if user is not None and user_may_see_reports(user)
                else None,
            )
            return context


def _delivery_links(index_url: str, step_pk: int) -> dict[str, str]:
    """The deliveries listing filtered to one step (and to a status)."""

    def link(**params: Any) -> str:
        return f"{index_url}?{urlencode({'step': step_pk, **params})}"

    return {
        "all": link(),
        "waiting": link(status__exact="scheduled"),
        "sent": link(status__exact="sent"),
        "failed": link(attention="yes"),
        "skipped": link(status__exact="skipped"),
    }
