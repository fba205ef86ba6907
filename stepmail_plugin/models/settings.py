"""Brand and legal details of step mails, edited per site in Wagtail's settings.

特定電子メール法 §4 requires every marketing mail to show the sender's name, postal address and a
contact, and to tell the recipient how to opt out. Empty fields fall back to ``STEPMAIL["BRAND"]``.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
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
    ]

    class Meta:
        verbose_name = _("step mail brand")
        verbose_name_plural = _("step mail brand")
