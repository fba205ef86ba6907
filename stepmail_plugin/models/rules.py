"""The rules of a sequence and of a step: who enters, when mail may go out, when it stops.

Kept as abstract mixins of :class:`SequencePage` and :class:`StepEmailPage` so the page module
stays small. Every field is edited in the page's "Rules" tab (see ``RULE_PANELS``) and documented
in ``docs/triggers.md`` and ``docs/timing.md``.
"""

from __future__ import annotations

from datetime import time, timedelta

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, FieldRowPanel, HelpPanel, MultiFieldPanel


class ThresholdUnit(models.TextChoices):
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")
    WEEKS = "weeks", _("weeks")


class CustomerFilter(models.TextChoices):
    ANY = "any", _("Every customer")
    FIRST = "first", _("First-time customers only")
    REPEAT = "repeat", _("Repeat customers only")


class AnniversaryOf(models.TextChoices):
    REGISTRATION = "registration", _("Registration")
    FIRST_ORDER = "first_order", _("First order")


class Reentry(models.TextChoices):
    EACH = "each", _("Every time the trigger happens (per order, basket, year, form submission…)")
    ONCE = "once", _("Once per customer, ever")
    COOLDOWN = "cooldown", _("Again, but only after a cool-down")


class SendCondition(models.TextChoices):
    ALWAYS = "always", _("Always")
    PURCHASED = "purchased", _("Only if the customer bought something since entering")
    NOT_PURCHASED = "not_purchased", _("Skip if the customer bought something since entering")
    OPENED = "opened_previous", _("Only if the previous mail was opened")
    NOT_OPENED = "not_opened_previous", _("Only if the previous mail was not opened")
    CLICKED = "clicked_previous", _("Only if a link in the previous mail was clicked")


class DelayFrom(models.TextChoices):
    TRIGGER = "trigger", _("after the trigger")
    SUPPLY_END = "supply_end", _("before the bought supply runs out")


WEEKDAY_CHOICES = [
    ("0", _("Monday")),
    ("1", _("Tuesday")),
    ("2", _("Wednesday")),
    ("3", _("Thursday")),
    ("4", _("Friday")),
    ("5", _("Saturday")),
    ("6", _("Sunday")),
]


def parse_weekdays(value: object) -> frozenset[int]:
    """``"0,1,2"`` (or a list) → {0, 1, 2}; Monday is 0, as in :meth:`datetime.weekday`."""
    if not value:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(int(v) for v in items if str(v).strip() != "")


class WeekdaysFormField(forms.MultipleChoiceField):
    """Check boxes for the days of the week, stored as ``"0,1,2"``."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.pop("max_length", None)
        kwargs.pop("empty_value", None)
        kwargs["choices"] = WEEKDAY_CHOICES
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str):
            return [v for v in value.split(",") if v]
        return value

    def clean(self, value):
        return ",".join(str(d) for d in sorted(parse_weekdays(super().clean(value))))

    def has_changed(self, initial, data):
        return parse_weekdays(self.prepare_value(initial)) != parse_weekdays(data or [])


class WeekdaysField(models.CharField):
    """Days of the week as ``"0,1,2"`` (Monday = 0); empty means every day."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if isinstance(value, (list, tuple, set, frozenset)):
            return ",".join(str(d) for d in sorted(parse_weekdays(value)))
        return super().to_python(value)

    def get_prep_value(self, value):
        return super().get_prep_value(self.to_python(value))

    def formfield(self, **kwargs):
        return WeekdaysFormField(required=not self.blank, label=self.verbose_name, help_text=self.help_text)


class SequenceRules(models.Model):
    """Trigger settings, targeting, exits, re-entry and timing of a sequence."""

    # -- trigger settings ---------------------------------------------------------------------
    threshold_value = models.PositiveIntegerField(
        _("threshold"),
        null=True,
        blank=True,
        help_text=_(
            "Abandoned basket: how long the basket must be idle. Product browsed: how long the "
            "product must stay unbought. Dormant customer: how long since the last order. "
            "Birthday and anniversary: how long before the date to start. Empty: the shop's "
            "default (see the documentation)."
        ),
    )
    threshold_unit = models.CharField(
        _("threshold unit"),
        max_length=8,
        choices=ThresholdUnit.choices,
        default=ThresholdUnit.HOURS,
        help_text=_("Birthdays and anniversaries count whole days."),
    )
    trigger_statuses = models.CharField(
        _("order statuses"),
        max_length=255,
        blank=True,
        help_text=_(
            "Order shipped: the order statuses that count as shipped, separated by commas "
            "(e.g. “Shipped, Complete”). Empty: the shop's default."
        ),
    )
    anniversary_of = models.CharField(
        _("anniversary of"),
        max_length=16,
        choices=AnniversaryOf.choices,
        default=AnniversaryOf.REGISTRATION,
        help_text=_("Anniversary: the date whose yearly return starts the sequence."),
    )
    form_page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("form page"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Form submitted: the form page (e.g. a document request form) whose submitters enter."),
    )
    form_email_field = models.CharField(
        _("email field of the form"),
        max_length=255,
        blank=True,
        help_text=_("Field name holding the submitter's address. Empty: the form's first Email field."),
    )
    form_consent_field = models.CharField(
        _("consent field of the form"),
        max_length=255,
        blank=True,
        help_text=_(
            "Field name of the check box by which the submitter agrees to receive mail; ticked, it "
            "is recorded as their consent. Marketing sequences need it."
        ),
    )

    # -- targeting ----------------------------------------------------------------------------
    filter_products = ParentalManyToManyField(
        "catalogue.Product",
        verbose_name=_("bought one of these products"),
        blank=True,
        related_name="+",
        help_text=_(
            "Only customers who bought one of these (in the triggering order, or ever for other "
            "triggers). Empty: no condition."
        ),
    )
    filter_categories = ParentalManyToManyField(
        "catalogue.Category",
        verbose_name=_("bought from these categories"),
        blank=True,
        related_name="+",
        help_text=_("Only customers who bought something in one of these categories or their subcategories."),
    )
    filter_customer = models.CharField(
        _("new or repeat customers"),
        max_length=8,
        choices=CustomerFilter.choices,
        default=CustomerFilter.ANY,
        help_text=_(
            "First-time: the triggering order is their first (other triggers: at most one order). "
            "Repeat: they had ordered before (other triggers: two or more orders)."
        ),
    )
    filter_min_total = models.DecimalField(
        _("minimum order total"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The triggering order's total (other triggers: everything the customer ever spent), tax included."),
    )
    filter_groups = ParentalManyToManyField(
        "auth.Group",
        verbose_name=_("user groups"),
        blank=True,
        related_name="+",
        help_text=_("Only customers whose account is in one of these groups (e.g. members, wholesale)."),
    )

    # -- exits --------------------------------------------------------------------------------
    exit_on_purchase = models.BooleanField(
        _("stop when they buy anything"),
        default=False,
        help_text=_(
            "End the sequence as soon as the customer places any order (welcome series, "
            "win-back). Abandoned basket, browsed product and dormant customer sequences always stop on purchase."
        ),
    )
    exit_products = ParentalManyToManyField(
        "catalogue.Product",
        verbose_name=_("stop when they buy one of these"),
        blank=True,
        related_name="+",
        help_text=_("End the sequence once the customer buys one of these products (e.g. the product the mails promote)."),
    )

    # -- re-entry -----------------------------------------------------------------------------
    reentry = models.CharField(
        _("re-entry"),
        max_length=10,
        choices=Reentry.choices,
        default=Reentry.EACH,
        help_text=_("Whether a customer can go through this sequence more than once."),
    )
    cooldown_days = models.PositiveIntegerField(
        _("cool-down (days)"),
        null=True,
        blank=True,
        help_text=_("With a cool-down: how many days after entering before the customer can enter again."),
    )

    # -- timing -------------------------------------------------------------------------------
    window_start = models.TimeField(
        _("send from"),
        null=True,
        blank=True,
        help_text=_("Earliest local time of day mails go out (the customer's time zone). Empty: any time."),
    )
    window_end = models.TimeField(
        _("send until"),
        null=True,
        blank=True,
        help_text=_("Mails due later wait for the next day's start. Empty: until midnight."),
    )
    window_weekdays = WeekdaysField(
        _("send on"),
        help_text=_("Days of the week mails may go out, in the customer's time zone. None ticked: every day."),
    )
    stale_after_hours = models.PositiveIntegerField(
        _("skip when late by (hours)"),
        null=True,
        blank=True,
        help_text=_(
            "A mail that could not go out within this many hours of its moment (e.g. after "
            "downtime) is skipped and recorded instead of being sent stale. Empty: the shop's default."
        ),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        default=50,
        help_text=_(
            "When the frequency cap lets only some mails through, higher-priority sequences go "
            "first; the others wait."
        ),
    )

    class Meta:
        abstract = True

    # -- helpers ------------------------------------------------------------------------------
    @property
    def threshold(self) -> timedelta | None:
        """The threshold as a timedelta, or None to use the trigger's default."""
        if self.threshold_value is None:
            return None
        return timedelta(**{self.threshold_unit or ThresholdUnit.HOURS: self.threshold_value})

    @property
    def stale_after(self) -> timedelta | None:
        from ..conf import stepmail_settings

        hours = self.stale_after_hours
        if hours is None:
            hours = stepmail_settings.STALE_AFTER_HOURS
        return None if hours is None else timedelta(hours=hours)

    @property
    def statuses(self) -> list[str]:
        """The order statuses that count as shipped for this sequence."""
        from ..conf import stepmail_settings

        own = [s.strip() for s in (self.trigger_statuses or "").split(",") if s.strip()]
        return own or list(stepmail_settings.SHIPPED_ORDER_STATUSES)

    def clean_rules(self) -> dict[str, list]:
        """Rule errors by field name (called from the page's ``clean``)."""
        errors: dict[str, list] = {}
        # An end of 00:00 means midnight.
        if self.window_start and self.window_end and self.window_end != time(0) and self.window_end <= self.window_start:
            errors["window_end"] = [_("The window must end after it starts (windows cannot span midnight).")]
        if self.reentry == Reentry.COOLDOWN and not self.cooldown_days:
            errors["cooldown_days"] = [_("Give the number of days of the cool-down.")]
        if getattr(self, "trigger", "") == "form_submitted":
            page = self.form_page.specific if self.form_page_id else None
            if page is None or not hasattr(page, "get_form_fields"):
                errors["form_page"] = [_("Choose a form page (a page built with Wagtail's form builder).")]
        return errors


RULE_PANELS = [
    MultiFieldPanel(
        [
            FieldRowPanel([FieldPanel("threshold_value"), FieldPanel("threshold_unit")]),
            FieldPanel("trigger_statuses"),
            FieldPanel("anniversary_of"),
            FieldPanel("form_page"),
            FieldRowPanel([FieldPanel("form_email_field"), FieldPanel("form_consent_field")]),
        ],
        heading=_("Trigger settings"),
        help_text=_("Only the settings of the chosen trigger apply."),
    ),
    MultiFieldPanel(
        [
            FieldPanel("filter_products"),
            FieldPanel("filter_categories"),
            FieldPanel("filter_customer"),
            FieldPanel("filter_min_total"),
            FieldPanel("filter_groups"),
        ],
        heading=_("Who enters"),
        help_text=_("Checked when a customer would enter; all conditions given must hold."),
    ),
    MultiFieldPanel(
        [FieldPanel("exit_on_purchase"), FieldPanel("exit_products")],
        heading=_("When it stops"),
        help_text=_(
            "Unsubscribes, hard bounces, complaints and cancelled orders always end the sequence."
        ),
    ),
    MultiFieldPanel(
        [FieldPanel("reentry"), FieldPanel("cooldown_days")],
        heading=_("Entering again"),
    ),
    MultiFieldPanel(
        [
            FieldRowPanel([FieldPanel("window_start"), FieldPanel("window_end")]),
            FieldPanel("window_weekdays"),
            FieldPanel("stale_after_hours"),
            FieldPanel("priority"),
            HelpPanel(
                content=_(
                    "Times are in each customer's time zone (or the shop's). A mail due outside "
                    "the window goes out when the window next opens; the shop's frequency cap may "
                    "delay marketing mail further."
                )
            ),
        ],
        heading=_("When mail goes out"),
    ),
]


class StepRules(models.Model):
    """Timing mode and send condition of a step."""

    delay_from = models.CharField(
        _("counted"),
        max_length=16,
        choices=DelayFrom.choices,
        default=DelayFrom.TRIGGER,
        help_text=_(
            "“Before the supply runs out” counts back from when the bought product is used up: "
            "its usage days (a product attribute) × the quantity bought, from the trigger "
            "(order or shipping). For refill reminders of consumables."
        ),
    )
    send_condition = models.CharField(
        _("send"),
        max_length=24,
        choices=SendCondition.choices,
        default=SendCondition.ALWAYS,
        help_text=_(
            "Checked when the mail is due; a mail whose condition fails is skipped and the next "
            "step follows. “Previous mail” is the last one sent with a shorter delay than this "
            "step, so two steps with the same delay can be alternatives (opened / did not open)."
        ),
    )

    class Meta:
        abstract = True

    @property
    def counts_from_supply(self) -> bool:
        return self.delay_from == DelayFrom.SUPPLY_END


class ReachPanel(HelpPanel):
    """Tells the editor how many customers now in the sequence this step will reach."""

    class BoundPanel(HelpPanel.BoundPanel):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.content = self._reach_text()

        def _reach_text(self) -> str:
            from django.utils.html import format_html

            from ..reach import reach_of_step

            parent = None
            if self.instance.pk is None:
                parent = getattr(self.form, "parent_page", None)
            try:
                count = reach_of_step(self.instance, parent=parent)
            except Exception:  # the count is a courtesy; never break the edit view
                return ""
            if count is None:
                return ""
            return format_html(
                "<p>{}</p>",
                _(
                    "Publishing this step now reaches %(count)d customer(s) currently in this "
                    "sequence who have not passed its position. Customers who finished earlier do not get it."
                )
                % {"count": count},
            )

