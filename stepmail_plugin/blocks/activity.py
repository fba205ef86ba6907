"""Blocks showing what the customer left behind: the basket's lines or the products they viewed.

The products are a snapshot taken when the customer entered the sequence (stored on the
enrollment), so rendering needs no query per mail.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from .base import EmailBlockMixin, RenderContext

#: Shown in previews, where there is no customer yet.
SAMPLE_ITEMS = [
    {"title": _("Sample product"), "url": "/", "image": "", "price": "¥4,800", "quantity": 1},
    {"title": _("Another product"), "url": "/", "image": "", "price": "¥2,200", "quantity": 2},
]


class LeftItemsBlock(EmailBlockMixin, blocks.StructBlock):
    """The items of an abandoned basket, or the products a customer browsed, with a link back."""

    heading = blocks.CharBlock(label=_("Heading"), required=False, max_length=120)
    button_text = blocks.CharBlock(
        label=_("Button text"),
        required=False,
        max_length=80,
        help_text=_("Links back to the basket (abandoned basket sequences). Empty: no button."),
    )
    limit = blocks.IntegerBlock(label=_("Show at most"), min_value=1, max_value=12, default=4)

    personalized = True
    email_template = "stepmail/mail/blocks/left_items.html"
    text_template = "stepmail/mail/blocks/left_items.txt"

    def email_context(self, value: Any, ctx: RenderContext) -> dict[str, Any]:
        context = super().email_context(value, ctx)
        enrollment = ctx.objects.get("enrollment")
        data = (getattr(enrollment, "context", None) or {}) if enrollment is not None else None
        items = SAMPLE_ITEMS if data is None else (data.get("_items") or [])
        limit = value.get("limit") or 4
        context["items"] = [
            {**item, "url": ctx.absolute(str(item.get("url") or "")), "image": ctx.absolute(str(item.get("image") or ""))}
            for item in items[:limit]
            if isinstance(item, dict)
        ]
        back = "/" if data is None else (data.get("_items_url") or "")
        context["href"] = ctx.absolute(back) if value.get("button_text") and back else ""
        return context

    class Meta:
        icon = "list-ul"
        label = _("Basket or viewed products")
