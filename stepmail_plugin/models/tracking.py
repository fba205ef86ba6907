"""Measurement records: what happened to a mail after it was sent, which orders it earned, and the
A/B variants and holdout settings that make those numbers comparable.

Only :mod:`stepmail_plugin.tracking` writes these; reports read them. See ``docs/metrics.md``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel
from wagtail.fields import StreamField
from wagtail.models import Orderable

from ..blocks import StepBodyBlock
from .fields import ABMetric
from ..editor.mergefields import MergeTextInput
from .pages import DelayUnit


class EventType(models.TextChoices):
    """What can happen to a sent mail (a subset of anymail's event types, plus our own sources)."""

    QUEUED = "queued", _("Queued by the ESP")
    SENT = "sent", _("Sent by the ESP")
    DELIVERED = "delivered", _("Delivered")
    DEFERRED = "deferred", _("Deferred (temporary failure)")
    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Clicked")
    BOUNCED = "bounced", _("Bounced")
    REJECTED = "rejected", _("Rejected by the ESP")
    FAILED = "failed", _("Failed at the ESP")
    COMPLAINED = "complained", _("Marked as spam")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")


class EventSource(models.TextChoices):
    ESP = "esp", _("ESP webhook")
    REDIRECT = "redirect", _("Click redirect")
    PIXEL = "pixel", _("Open pixel")
    UNSUBSCRIBE_LINK = "unsubscribe", _("Unsubscribe link")
    SIMULATED = "simulated", _("Simulated")


class DeliveryEvent(models.Model):
    """One thing that happened to a sent mail: an ESP webhook event, a tracked click or open."""

    delivery = models.ForeignKey(
        "stepmail.Delivery", verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="events"
    )
    event_type = models.CharField(_("event"), max_length=16, choices=EventType.choices)
    source = models.CharField(_("source"), max_length=16, choices=EventSource.choices, default=EventSource.ESP)
    esp_name = models.CharField(_("ESP"), max_length=32, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), help_text=_("As reported by the ESP."))
    received_at = models.DateTimeField(_("received at"), default=now)
    # Makes a repeated webhook delivery of the same event a no-op (unique).
    dedupe_key = models.CharField(max_length=96, unique=True, editable=False)
    url = models.URLField(_("clicked link"), max_length=2000, blank=True)
    reject_reason = models.CharField(_("reject reason"), max_length=32, blank=True)
    description = models.CharField(pgettext_lazy("stepmail", "description"), max_length=500, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        indexes = [
            models.Index(fields=["delivery", "event_type"], name="stepmail_event_delivery"),
            models.Index(fields=["event_type", "occurred_at"], name="stepmail_event_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.event_type} at {self.occurred_at:%Y-%m-%d %H:%M}"


class TrackedLinkSet(models.Model):
    """The links of one compiled step (or variant), in order: a click redirect names its link by
    position in this list, so only these URLs can ever be redirected to."""

    digest = models.CharField(max_length=64, unique=True, editable=False)
    step = models.ForeignKey(
        "stepmail.StepEmailPage", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    urls = models.JSONField(default=list)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("tracked link set")
        verbose_name_plural = _("tracked link sets")

    def __str__(self) -> str:
        return f"{len(self.urls)} links of step {self.step_id}"


class StepVariant(Orderable):
    """An alternative version of a step for an A/B test. Empty fields keep the original's."""

    step = ParentalKey("stepmail.StepEmailPage", on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(
        _("variant name"), max_length=60, help_text=_("Shown in reports, e.g. “B: shorter subject”.")
    )
    weight = models.PositiveSmallIntegerField(
        _("weight"),
        default=1,
        validators=[MaxValueValidator(1000)],
        help_text=_("Relative share of recipients; 0 pauses this variant."),
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True, help_text=_("Empty: the original's."))
    preheader = models.CharField(
        _("preheader"), max_length=200, blank=True, help_text=_("Empty: the original's.")
    )
    body = StreamField(
        StepBodyBlock(), verbose_name=_("body"), blank=True, help_text=_("Empty: the original's body.")
    )
    extra_delay_value = models.PositiveIntegerField(
        _("send later by"),
        default=0,
        help_text=_("Tests timing: this variant goes out this much later than the step's delay."),
    )
    extra_delay_unit = models.CharField(
        _("unit"), max_length=8, choices=DelayUnit.choices, default=DelayUnit.HOURS
    )

    # The same merge-field picker as the step's own subject and preheader.
    panels = [
        FieldPanel("name"),
        FieldPanel("weight"),
        FieldPanel("subject", widget=MergeTextInput),
        FieldPanel("preheader", widget=MergeTextInput),
        FieldPanel("body"),
        FieldRowPanel([FieldPanel("extra_delay_value"), FieldPanel("extra_delay_unit")]),
    ]

    class Meta(Orderable.Meta):
        verbose_name = _("A/B variant")
        verbose_name_plural = _("A/B variants")

    def __str__(self) -> str:
        return self.name

    @property
    def extra_delay(self):
        from datetime import timedelta

        return timedelta(**{self.extra_delay_unit or DelayUnit.HOURS: self.extra_delay_value or 0})

    def clean(self):
        from django.core.exceptions import ValidationError

        from ..rendering.merge import merge_field_errors

        errors = merge_field_errors({name: getattr(self, name) for name in ("subject", "preheader")})
        if errors:
            raise ValidationError(errors)


class ABDecision(models.Model):
    """The outcome of a step's A/B test once it has a winner, and whether it was promoted.

    A promoted decision sends the winner to everyone from then on; deleting it restarts the test.
    """

    step = models.OneToOneField(
        "stepmail.StepEmailPage", verbose_name=_("step"), on_delete=models.CASCADE, related_name="ab_decision"
    )
    winner = models.ForeignKey(
        StepVariant,
        verbose_name=_("winning variant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: the original (A) won."),
    )
    winner_label = models.CharField(_("winner"), max_length=80)
    metric = models.CharField(_("metric"), max_length=16, choices=ABMetric.choices)
    probability = models.FloatField(_("probability to be best"))
    numbers = models.JSONField(_("numbers at decision time"), default=dict)
    decided_at = models.DateTimeField(_("decided at"), default=now)
    promoted = models.BooleanField(_("promoted"), default=False)
    automatic = models.BooleanField(_("promoted automatically"), default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("promoted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("A/B test decision")
        verbose_name_plural = _("A/B test decisions")

    def __str__(self) -> str:
        return f"{self.step_id}: {self.winner_label}"


class AttributionMethod(models.TextChoices):
    VOUCHER = "voucher", _("Voucher from the mail redeemed")
    CLICK = "click", _("Click within the click window")
    OPEN = "open", _("Open within the open window")


class Conversion(models.Model):
    """An order credited to one mail (last touch): the mail whose voucher was redeemed, or else the
    latest one clicked or opened within its attribution window before the order."""

    order_key = models.CharField(_("order"), max_length=100, unique=True, help_text=_("app.model:pk"))
    order_number = models.CharField(_("order number"), max_length=128, blank=True)
    delivery = models.ForeignKey(
        "stepmail.Delivery", verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="conversions"
    )
    method = models.CharField(_("attributed by"), max_length=16, choices=AttributionMethod.choices)
    amount = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=12, blank=True)
    ordered_at = models.DateTimeField(_("ordered at"))
    touched_at = models.DateTimeField(_("click, open or send time credited"), null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("attributed order")
        verbose_name_plural = _("attributed orders")

    def __str__(self) -> str:
        return f"{self.order_number or self.order_key} → {self.delivery_id} ({self.method})"


class EnrollmentOrder(models.Model):
    """An order a contact placed within the outcome window after entering a sequence, whatever
    they received. Mailed and held-out enrollments are compared on these (uplift)."""

    enrollment = models.ForeignKey(
        "stepmail.Enrollment", verbose_name=_("enrollment"), on_delete=models.CASCADE, related_name="orders"
    )
    order_key = models.CharField(_("order"), max_length=100)
    order_number = models.CharField(_("order number"), max_length=128, blank=True)
    amount = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=12, blank=True)
    ordered_at = models.DateTimeField(_("ordered at"))

    class Meta:
        verbose_name = _("order after enrollment")
        verbose_name_plural = _("orders after enrollment")
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "order_key"], name="stepmail_enrollment_order_unique")
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id}: {self.order_number or self.order_key}"
