"""Step mail settings edited per site in Wagtail's settings: brand, sender, legal details and
the frequency cap.

特定電子メール法 §4 requires every marketing mail to show the sender's name, postal address and a
contact, and to tell the recipient how to opt out. Empty fields fall back to ``STEPMAIL["BRAND"]``;
an empty frequency cap falls back to ``STEPMAIL["FREQUENCY_CAPS"]``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting

colour_validator = RegexValidator(
    r"^#(?:[0-9a-fA-F]{3}){1,2}$", _("Enter a colour such as #c2410c.")
)


@register_setting(icon="mail")
class StepmailBrandSettings(BaseSiteSetting):
    shop_name = models.CharField(
        _("shop name"), max_length=100, blank=True,
        help_text=_("Shown in the mail header when there is no logo, and in {{ shop_name }}."),
    )
    logo = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("logo"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Shown at the top of every mail, 40 pixels high."),
    )
    primary_color = models.CharField(
        _("button and link colour"), max_length=7, blank=True, validators=[colour_validator],
        help_text=_("e.g. #c2410c"),
    )
    background_color = models.CharField(
        _("background colour"), max_length=7, blank=True, validators=[colour_validator],
        help_text=_("Around the mail, e.g. #f4f1ec"),
    )
    text_color = models.CharField(
        _("text colour"), max_length=7, blank=True, validators=[colour_validator],
        help_text=_("e.g. #1f2937"),
    )
    from_name = models.CharField(
        _("sender display name"), max_length=100, blank=True,
        help_text=_("The name inboxes show as the sender, e.g. “Shop name”."),
    )
    from_email = models.EmailField(
        _("sender address"), blank=True,
        help_text=_("An address of your own domain (with SPF/DKIM set up at your email service)."),
    )
    reply_to = models.EmailField(
        _("reply-to address"), blank=True,
        help_text=_("Where customers' replies go, e.g. your support address."),
    )
    sender_name = models.CharField(
        _("sender's legal name"), max_length=200, blank=True,
        help_text=_("The company or person responsible for the mails (required in marketing mail)."),
    )
    postal_address = models.TextField(
        _("postal address"), blank=True,
        help_text=_("Required in marketing mail by 特定電子メール法 and CAN-SPAM."),
    )
    contact = models.CharField(
        _("contact for enquiries"), max_length=200, blank=True,
        help_text=_("An email address, telephone number or URL where customers can reach you."),
    )
    footer_text = models.TextField(
        _("extra footer text"), blank=True,
        help_text=_("Any further note at the bottom of every mail, e.g. why the customer receives it."),
    )
    # Operators tune the cap while a campaign runs, without a deploy: when either is set they
    # replace STEPMAIL["FREQUENCY_CAPS"].
    max_mails_per_day = models.PositiveSmallIntegerField(
        _("at most per day"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Marketing mails one customer may receive in any 24 hours. Empty: no daily limit."),
    )
    max_mails_per_week = models.PositiveSmallIntegerField(
        _("at most per week"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
        help_text=_("Marketing mails one customer may receive in any 7 days. Empty: no weekly limit."),
    )

    panels = [
        MultiFieldPanel(
            [
                FieldPanel("shop_name"),
                FieldPanel("logo"),
                FieldRowPanel(
                    [FieldPanel("primary_color"), FieldPanel("background_color"), FieldPanel("text_color")]
                ),
            ],
            heading=_("Look"),
        ),
        MultiFieldPanel(
            [FieldPanel("from_name"), FieldPanel("from_email"), FieldPanel("reply_to")],
            heading=pgettext_lazy("stepmail", "Sender"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("sender_name"),
                FieldPanel("postal_address"),
                FieldPanel("contact"),
                FieldPanel("footer_text"),
            ],
            heading=_("Legal footer (特定電子メール法)"),
        ),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("max_mails_per_day"), FieldPanel("max_mails_per_week")])],
            heading=_("Frequency cap (marketing mail)"),
            help_text=_(
                "A mail over the cap waits until there is room (higher-priority sequences first); "
                "it is never dropped silently. Transactional mail is neither capped nor counted. "
                "Leave both empty to use the STEPMAIL setting."
            ),
        ),
    ]

    class Meta:
        verbose_name = _("step mail settings")
        verbose_name_plural = _("step mail settings")

    #: Texts the mail layout shows: read for merge fields with the step's HTML when it is compiled.
    LAYOUT_TEXT = ("shop_name", "sender_name", "postal_address", "contact", "footer_text")

    def clean(self):
        """Merge fields in the layout's texts are checked on save, like the steps' own text: an
        unknown one would otherwise fail every mail."""
        from ..rendering.merge import merge_field_errors

        super().clean()
        errors = merge_field_errors({name: getattr(self, name) for name in self.LAYOUT_TEXT})
        if errors:
            raise ValidationError(errors)

    def frequency_caps(self) -> list[tuple[int, int]]:
        """The caps set here as ``(mails, hours)`` pairs (empty when neither field is set)."""
        caps = []
        if self.max_mails_per_day:
            caps.append((self.max_mails_per_day, 24))
        if self.max_mails_per_week:
            caps.append((self.max_mails_per_week, 24 * 7))
        return caps
