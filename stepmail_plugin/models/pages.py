"""Wagtail page types: a sequence, its step emails, and an index to group sequences.

A sequence page holds the trigger and rules; its child pages are its steps, in tree order. None of
these pages is served to the public: previews render the mail instead.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext, ngettext, pgettext_lazy
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.fields import StreamField
from wagtail.models import Page

from ..blocks import StepBodyBlock
from ..editor.mergefields import MergeTextInput
from ..panels import SequenceTimelinePanel
from ..rendering.merge import EDITOR_FIELDS, merge_field_errors
from ..triggers.registry import trigger_choices
from .fields import ABTestStepMixin, HoldoutSequenceMixin
from .rules import RULE_PANELS, DelayFrom, ReachPanel, SequenceRules, StepRules


class SequenceKind(models.TextChoices):
    MARKETING = "marketing", _("Marketing (stops on unsubscribe)")
    TRANSACTIONAL = "transactional", _("Transactional (stops only on bounce or complaint)")


class DelayUnit(models.TextChoices):
    MINUTES = "minutes", _("minutes")
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")
    WEEKS = "weeks", _("weeks")


def delay_label(value: int, unit: str, delay_from: str = DelayFrom.TRIGGER) -> str:
    """When a step goes out, as editors say it: "Right away", "3 days later", "7 days before the
    supply runs out". The one wording of a step's delay in the admin (timeline, copy and test-send
    forms, reports, the step-order errors)."""
    value = value or 0
    if delay_from == DelayFrom.SUPPLY_END:
        if not value:
            return gettext("When the supply runs out")
        return gettext("%(delay)s before the supply runs out") % {"delay": _delay_amount(value, unit)}
    if not value:
        return gettext("Right away")
    return gettext("%(delay)s later") % {"delay": _delay_amount(value, unit)}


def _delay_amount(value: int, unit: str) -> str:
    if unit == DelayUnit.MINUTES:
        return ngettext("%(n)d minute", "%(n)d minutes", value) % {"n": value}
    if unit == DelayUnit.HOURS:
        return ngettext("%(n)d hour", "%(n)d hours", value) % {"n": value}
    if unit == DelayUnit.WEEKS:
        return ngettext("%(n)d week", "%(n)d weeks", value) % {"n": value}
    return ngettext("%(n)d day", "%(n)d days", value) % {"n": value}


class NotServedMixin:
    """Step-mail pages are content for mails, not public web pages."""

    #: Nothing to preview as a web page (step pages preview their mail instead): Wagtail then
    #: shows no preview button, and refuses a draft or revision view (as it does for any page it
    #: cannot preview) instead of rendering a template that does not exist.
    preview_modes: list = []

    def serve(self, request, *args, **kwargs):
        raise Http404

    def get_sitemap_urls(self, request=None):
        return []


class SequenceIndexPage(NotServedMixin, Page):
    """Groups sequences in the page tree, e.g. "Step mail"."""

    intro = models.TextField(pgettext_lazy("stepmail", "description"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["stepmail.SequencePage"]
    show_in_menus_default = False

    class Meta:
        verbose_name = _("step mail folder")
        verbose_name_plural = _("step mail folders")


class SequencePage(HoldoutSequenceMixin, NotServedMixin, SequenceRules, Page):
    """A step-mail scenario: who enters (the trigger) and the rules; child pages are its steps."""

    trigger = models.CharField(
        _("trigger"),
        max_length=64,
        choices=trigger_choices,
        help_text=_("The moment that starts this sequence for a customer; step delays count from it."),
    )
    kind = models.CharField(
        _("kind of mail"),
        max_length=16,
        choices=SequenceKind.choices,
        default=SequenceKind.MARKETING,
        help_text=_(
            "Marketing mail needs consent and stops when the customer unsubscribes; transactional "
            "mail (e.g. how to use what they bought) stops only for bounces and complaints."
        ),
    )
    description = models.TextField(
        _("purpose and target"),
        blank=True,
        help_text=_("For your team: the goal of this scenario and who it is for."),
    )

    content_panels = Page.content_panels + [
        MultiFieldPanel(
            [FieldPanel("trigger"), FieldPanel("kind"), FieldPanel("description")],
            heading=_("Scenario"),
        ),
        FieldPanel("holdout_percent"),
        SequenceTimelinePanel(heading=_("Timeline")),
    ]
    edit_handler = TabbedInterface(
        [
            ObjectList(content_panels, heading=_("Content")),
            ObjectList(RULE_PANELS, heading=_("Rules")),
            ObjectList(Page.promote_panels, heading=_("Promote")),
            ObjectList(Page.settings_panels, heading=_("Settings")),
        ]
    )
    parent_page_types = ["stepmail.SequenceIndexPage", "wagtailcore.Page"]
    subpage_types = ["stepmail.StepEmailPage"]
    # The explorer lists the steps in the order they are sent (tree order), not by last edit.
    admin_default_ordering = "ord"

    class Meta:
        verbose_name = _("step mail sequence")
        verbose_name_plural = _("step mail sequences")

    @property
    def is_marketing(self) -> bool:
        return self.kind == SequenceKind.MARKETING

    def get_steps(self):
        """The step pages of this sequence in tree order (drafts included)."""
        return StepEmailPage.objects.child_of(self).order_by("path")

    def clean(self):
        super().clean()
        errors = self.clean_rules()
        if errors:
            raise ValidationError(errors)


class StepEmailPageForm(WagtailAdminPageForm):
    """Checks that steps keep their order in time: a step's delay may not be shorter than an
    earlier sibling's nor longer than a later one's."""

    def clean(self):
        cleaned = super().clean()
        # Blocks were validated (and their errors shown per block) by the form's StreamField.
        self.instance._stepmail_form_checked_body = True
        value, unit = cleaned.get("delay_value"), cleaned.get("delay_unit")
        if value is None or not unit:
            return cleaned
        delay = StepEmailPage.delay_for(value, unit)
        from_supply = cleaned.get("delay_from") == "supply_end"
        siblings = self._siblings()
        if siblings is None:
            return cleaned
        own_path = self.instance.path or None
        for sibling in siblings:
            if own_path and sibling.path == own_path:
                continue
            if sibling.counts_from_supply or from_supply:
                # Refill steps count back from when the supply runs out: a different clock.
                continue
            before = own_path is None or sibling.path < own_path
            if before and sibling.delay > delay:
                self.add_error(
                    "delay_value",
                    _("Steps run in order: this step's delay may not be shorter than "
                      "“%(title)s” (%(delay)s) before it.")
                    % {"title": sibling.title, "delay": sibling.delay_display},
                )
                break
            if not before and sibling.delay < delay:
                self.add_error(
                    "delay_value",
                    _("Steps run in order: this step's delay may not be longer than "
                      "“%(title)s” (%(delay)s) after it.")
                    % {"title": sibling.title, "delay": sibling.delay_display},
                )
                break
        return cleaned

    def _siblings(self):
        parent = self.parent_page if self.instance.pk is None else self.instance.get_parent()
        if parent is None:
            return None
        return StepEmailPage.objects.child_of(parent).order_by("path")


class StepEmailPage(ABTestStepMixin, NotServedMixin, StepRules, Page):
    """One email of a sequence, sent ``delay`` after the enrollment's anchor."""

    delay_value = models.PositiveIntegerField(
        _("send after"),
        default=0,
        help_text=_("Counted from the trigger (e.g. 3 days after the order). 0 sends right away."),
    )
    delay_unit = models.CharField(
        _("unit"), max_length=8, choices=DelayUnit.choices, default=DelayUnit.DAYS
    )
    subject = models.CharField(
        _("subject"),
        max_length=200,
        help_text=_("Keep it under about 40 characters so phones show it whole. Merge fields allowed."),
    )
    preheader = models.CharField(
        _("preheader"),
        max_length=200,
        blank=True,
        help_text=_("The grey preview text shown after the subject in the inbox."),
    )
    body = StreamField(StepBodyBlock(), verbose_name=_("body"), blank=True)

    base_form_class = StepEmailPageForm
    content_panels = Page.content_panels + [
        FieldRowPanel(
            [FieldPanel("delay_value"), FieldPanel("delay_unit"), FieldPanel("delay_from")],
            heading=_("Timing"),
        ),
        FieldPanel("send_condition"),
        ReachPanel(heading=_("Who gets it")),
        FieldPanel("subject", widget=MergeTextInput),
        FieldPanel("preheader", widget=MergeTextInput),
        HelpPanel(
            content=_("Merge fields: ")
            + ", ".join("{{ %s }}" % name for name in EDITOR_FIELDS)
        ),
        FieldPanel("body"),
        MultiFieldPanel(
            [
                HelpPanel(content=_("Test other subjects, bodies or timing against this page's content "
                                    "(variant A). Results are in Reports → Step mail.")),
                InlinePanel("variants", label=pgettext_lazy("stepmail", "Variant")),
                FieldPanel("ab_original_weight"),
                FieldPanel("ab_metric"),
                FieldPanel("ab_auto_promote"),
            ],
            heading=_("A/B test"),
            classname="collapsed",
        ),
    ]
    parent_page_types = ["stepmail.SequencePage"]
    subpage_types: list[str] = []

    preview_modes = [("html", _("Email (desktop)")), ("mobile", _("Email (phone)")), ("text", _("Plain text"))]

    class Meta:
        verbose_name = _("step email")
        verbose_name_plural = _("step emails")

    @staticmethod
    def delay_for(value: int, unit: str) -> timedelta:
        return timedelta(**{unit: value})

    @property
    def delay(self) -> timedelta:
        """How long after the enrollment's anchor this step is due."""
        return self.delay_for(self.delay_value or 0, self.delay_unit or DelayUnit.DAYS)

    @property
    def delay_display(self) -> str:
        """When this step goes out, e.g. 「すぐに（当日）」 or 「3日後」 (see :func:`delay_label`)."""
        return delay_label(self.delay_value, self.delay_unit, self.delay_from)

    def clean(self):
        super().clean()
        errors = merge_field_errors({name: getattr(self, name) for name in ("subject", "preheader")})
        if not getattr(self, "_stepmail_form_checked_body", False):
            # Saved from code rather than the admin form (which shows errors per block). As in
            # the admin, a draft may still lack what publishing needs (e.g. a coupon template).
            block = self.body.stream_block
            try:
                if self.live:
                    block.clean(self.body)
                else:
                    block.clean_deferred(self.body)
            except ValidationError as error:
                errors["body"] = _flatten(error)
        if errors:
            raise ValidationError(errors)

    def serve_preview(self, request, mode_name):
        from ..rendering.preview import render_preview

        return render_preview(self, request, mode_name)


def _flatten(error: ValidationError) -> list[str]:
    """Messages of a nested block validation error, as plain strings."""
    if hasattr(error, "block_errors") or hasattr(error, "non_block_errors"):
        messages = [str(m) for m in getattr(error, "non_block_errors", []) or []]
        block_errors = getattr(error, "block_errors", {}) or {}
        for child in block_errors.values():
            messages += _flatten(child) if isinstance(child, ValidationError) else [str(child)]
        return messages or [str(error)]
    return [str(m) for m in error.messages]
