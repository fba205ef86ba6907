"""Brand and legal details shown in every mail (sender, postal address, contact).

Values come from the default site's "Step mail settings" in Wagtail; anything left empty
there falls back to ``STEPMAIL["BRAND"]`` (and ``STEPMAIL["FROM_EMAIL"]`` for the sender).
"""

from __future__ import annotations

import logging
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from ..conf import stepmail_settings
from .context import shop_name

logger = logging.getLogger(__name__)

#: Fields of ``StepmailBrandSettings`` and the brand keys they fill.
_SITE_FIELDS = {
    "shop_name": "shop_name",
    "sender_name": "sender_name",
    "postal_address": "postal_address",
    "contact": "contact",
    "footer_text": "footer_text",
    "primary_color": "button_color",
    "background_color": "background_color",
    "text_color": "text_color",
    "from_name": "from_name",
    "from_email": "from_email",
    "reply_to": "reply_to",
}

#: "Read the default site's settings": the default of ``settings_obj`` below, so that a caller
#: that already looked (and found none: None) does not make them be read again.
LOOK_UP: Any = object()

#: The details 特定電子メール法 requires in marketing mail.
LEGAL_KEYS = ("sender_name", "postal_address", "contact")


def _default_site():
    from wagtail.models import Site

    return Site.objects.filter(is_default_site=True).select_related("root_page").first()


def base_url() -> str:
    """Absolute base for links in mails: ``STEPMAIL["BASE_URL"]`` or the default Wagtail site."""
    configured = stepmail_settings.BASE_URL
    if configured:
        return configured.rstrip("/")
    site = _default_site()
    if site is not None:
        return site.root_url.rstrip("/")
    return "http://localhost"


def site_settings() -> Any:
    """The default site's brand settings, or None (no site, or the table is not there yet)."""
    from ..models import StepmailBrandSettings

    try:
        site = _default_site()
        if site is None:
            return None
        return StepmailBrandSettings.objects.select_related("logo").filter(site=site).first()
    except DatabaseError:  # e.g. before migrations ran
        logger.debug("stepmail: brand settings unavailable", exc_info=True)
        return None


def brand(settings_obj: Any = LOOK_UP, *, link_base: str | None = None) -> dict[str, Any]:
    """Plain values for the mail layout. Site settings win over ``STEPMAIL["BRAND"]``."""
    values: dict[str, Any] = {
        "shop_name": shop_name(),
        "sender_name": "",
        "postal_address": "",
        "contact": "",
        "footer_text": "",
        "logo_url": "",
        "button_color": "#c2410c",
        "background_color": "",
        "text_color": "",
        "from_name": "",
        "from_email": "",
        "reply_to": "",
    }
    values.update(stepmail_settings.BRAND or {})
    site = site_settings() if settings_obj is LOOK_UP else settings_obj
    if site is not None:
        for field, key in _SITE_FIELDS.items():
            value = getattr(site, field, "")
            if value:
                values[key] = value
        if site.logo_id:
            try:
                url = site.logo.get_rendition("height-80").url
                values["logo_url"] = _absolute(url, link_base if link_base is not None else base_url())
            except Exception:  # a missing image file must not stop mail
                logger.warning("stepmail: the brand logo could not be rendered", exc_info=True)
    return values


def missing_legal_details(values: dict[str, Any] | None = None) -> list[str]:
    """Which of the details marketing mail must carry are empty."""
    values = values if values is not None else brand()
    return [key for key in LEGAL_KEYS if not str(values.get(key) or "").strip()]


def from_email(values: dict[str, Any] | None = None) -> str:
    """The sender: site settings' name and address, else ``STEPMAIL["FROM_EMAIL"]``."""
    configured = stepmail_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL
    values = values if values is not None else brand()
    name, address = parseaddr(configured)
    if values.get("from_email"):
        address = values["from_email"]
    if values.get("from_name"):
        name = values["from_name"]
    if not address:
        return configured
    if not name:
        return address
    try:
        # Quotes names with commas or quotes; keeps Japanese as it is (Django encodes headers).
        return str(Address(display_name=name, addr_spec=address))
    except (ValueError, IndexError):
        return address


def frequency_caps(settings_obj: Any = LOOK_UP) -> list[tuple[int, float]]:
    """The frequency cap as ``(mails, hours)`` pairs: the default site's settings when either of
    its limits is set (operators change them in the admin), else ``STEPMAIL["FREQUENCY_CAPS"]``."""
    site = site_settings() if settings_obj is LOOK_UP else settings_obj
    caps = site.frequency_caps() if site is not None else []
    return caps or list(stepmail_settings.FREQUENCY_CAPS or [])


def reply_to(values: dict[str, Any] | None = None) -> str:
    values = values if values is not None else brand()
    return values.get("reply_to") or ""


def _absolute(url: str, base: str) -> str:
    if url.startswith("/") and not url.startswith("//"):
        return base.rstrip("/") + url
    return url
