"""Coupons in step mails: voucher templates chosen by editors, and the vouchers issued from them.

A :class:`VoucherTemplate` describes a discount (percentage, fixed amount or free shipping, on an
Oscar range) and how long a coupon stays valid. It owns one Oscar voucher offer; each recipient
gets their own single-use Oscar ``Voucher`` attached to that offer, recorded by
:class:`IssuedVoucher` with one row per (delivery, template) so a retried delivery reuses it.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail.admin.panels import FieldPanel, FieldRowPanel, HelpPanel, MultiFieldPanel


class DiscountType(models.TextChoices):
    PERCENTAGE = "percentage", _("Percentage off")
    FIXED = "fixed", _("Fixed amount off")
    FREE_SHIPPING = "free_shipping", pgettext_lazy("stepmail", "Free shipping")


class VoucherTemplate(models.Model):
    """What a coupon in a mail gives; every recipient gets a unique single-use code from it."""

    name = models.CharField(
        _("name"),
        max_length=80,
        unique=True,
        help_text=_("Shown to customers in the basket, e.g. “Thank-you coupon 10%”."),
    )
    discount_type = models.CharField(
        _("discount"), max_length=16, choices=DiscountType.choices, default=DiscountType.PERCENTAGE
    )
    value = models.DecimalField(
        _("value"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Percent (1–100) or amount in the shop's currency; not used for free shipping."),
    )
    range = models.ForeignKey(
        "offer.Range",
        verbose_name=pgettext_lazy("stepmail", "products"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The Oscar range the coupon applies to. Leave empty for all products."),
    )
    minimum_purchase = models.DecimalField(
        _("minimum purchase"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("The basket must contain at least this much from the range. Empty: any purchase."),
    )
    valid_days = models.PositiveSmallIntegerField(
        _("valid for (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("Counted from the moment the mail is sent."),
    )
    code_prefix = models.CharField(
        _("code prefix"),
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^[A-Za-z0-9]*$", _("Letters and digits only."))],
        help_text=_("Optional start of every code, e.g. THANKS → THANKS-7KQ2M9XD."),
    )
    offer = models.ForeignKey(
        "offer.ConditionalOffer",
        verbose_name=_("Oscar offer"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Bumped whenever the terms change; part of the offer's (unique) name.
    terms_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(pgettext_lazy("stepmail", "created at"), default=now, editable=False)

    panels = [
        FieldPanel("name"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("discount_type"), FieldPanel("value")]),
                FieldPanel("range"),
                FieldPanel("minimum_purchase"),
            ],
            heading=pgettext_lazy("stepmail", "Discount"),
        ),
        FieldRowPanel([FieldPanel("valid_days"), FieldPanel("code_prefix")], heading=_("Codes")),
        HelpPanel(
            content=_(
                "Each recipient gets their own code, usable once, valid from the moment the mail "
                "is sent. Changing the terms affects coupons sent from now on; coupons already "
                "sent keep theirs."
            )
        ),
    ]

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if self.discount_type == DiscountType.FREE_SHIPPING:
            return
        if self.value is None:
            raise ValidationError({"value": _("Enter the discount.")})
        if self.discount_type == DiscountType.PERCENTAGE and self.value > 100:
            raise ValidationError({"value": _("A percentage cannot be more than 100.")})

    def save(self, *args, **kwargs):
        with transaction.atomic():
            super().save(*args, **kwargs)
            from ..commerce.vouchers import sync_offer

            sync_offer(self)

    @property
    def code_start(self) -> str:
        return f"{self.code_prefix.upper()}-" if self.code_prefix else ""


class IssuedVoucher(models.Model):
    """The coupon one delivery carries: at most one per (delivery, template), so retries reuse it."""

    delivery = models.ForeignKey(
        "stepmail.Delivery",
        verbose_name=_("delivery"),
        on_delete=models.CASCADE,
        related_name="issued_vouchers",
    )
    template = models.ForeignKey(
        VoucherTemplate,
        verbose_name=_("coupon template"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="issued",
    )
    voucher = models.ForeignKey(
        "voucher.Voucher",
        verbose_name=_("Oscar voucher"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty once an expired, unused coupon was cleaned up."),
    )
    code = models.CharField(_("code"), max_length=128)
    expires_at = models.DateTimeField(_("expires at"))
    created_at = models.DateTimeField(_("issued at"), default=now)

    class Meta:
        verbose_name = _("issued coupon")
        verbose_name_plural = _("issued coupons")
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "template"],
                condition=Q(template__isnull=False),
                name="stepmail_issued_voucher_unique",
            )
        ]
        indexes = [models.Index(fields=["expires_at"], name="stepmail_issued_expiry")]

    def __str__(self) -> str:
        return self.code
