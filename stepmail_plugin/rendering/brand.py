"""Brand and legal details shown in every mail (sender, postal address, contact)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from ..conf import stepmail_settings
from .context import shop_name


def base_url() -> str:
    """Absolute base for links in mails: ``STEPMAIL["BASE_URL"]`` or the default Wagtail site."""
    configured = stepmail_settings.BASE_URL
    if configured:
        return configured.rstrip("/")
    from wagtail.models import Site

    site = Site.objects.filter(is_default_site=True).first()
    if site is not None:
        return site.root_url.rstrip("/")
    return "http://localhost"


def brand() -> dict[str, Any]:
    """Plain values for the mail layout."""
    values: dict[str, Any] = {
        "shop_name": shop_name(),
        "sender_name": "",
        "postal_address": "",
        "contact": "",
        "logo_url": "",
        "button_color": "#c2410c",
    }
    values.update(stepmail_settings.BRAND or {})
    return values


def from_email() -> str:
    return stepmail_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL
