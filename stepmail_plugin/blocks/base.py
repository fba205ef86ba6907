"""What every email block can do: render email-safe HTML and a plain-text form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string


@dataclass
class RenderContext:
    """What blocks may read while rendering. Plain values only: never a model to walk."""

    base_url: str
    language: str
    brand: dict[str, Any] = field(default_factory=dict)
    #: Per-recipient values; empty while a step is compiled for a whole batch.
    recipient: dict[str, Any] = field(default_factory=dict)
    #: Objects a personalised block may use (the order, the basket), set per recipient.
    objects: dict[str, Any] = field(default_factory=dict)

    def absolute(self, url: str) -> str:
        if not url:
            return ""
        if url.startswith("//"):
            return "https:" + url
        if url.startswith("/"):
            return self.base_url.rstrip("/") + url
        return url


class EmailBlockMixin:
    """Mixed into a Wagtail block to render it in a mail.

    Blocks whose output is the same for every recipient (``personalized = False``) are rendered
    once per step and batch; merge fields in their text are filled per recipient afterwards.
    """

    personalized = False
    email_template: str = ""
    text_template: str = ""

    def email_context(self, value: Any, ctx: RenderContext) -> dict[str, Any]:
        return {"value": value, "ctx": ctx, "brand": ctx.brand}

    def render_email(self, value: Any, ctx: RenderContext) -> str:
        return render_to_string(self.email_template, self.email_context(value, ctx))

    def render_text(self, value: Any, ctx: RenderContext) -> str:
        return render_to_string(self.text_template, self.email_context(value, ctx)).strip()
