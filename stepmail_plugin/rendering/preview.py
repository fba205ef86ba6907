"""Wagtail preview of a step: the mail as a customer would get it, with sample values."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils.html import escape
from django.utils.translation import get_language

from ..blocks.base import RenderContext
from . import brand as brand_module
from .compile import CompiledStep
from .context import full_name, shop_name
from .merge import MergeSyntaxError


def sample_values(user, language: str) -> dict[str, str]:
    first = getattr(user, "first_name", "") or ("花子" if language.startswith("ja") else "Hanako")
    last = getattr(user, "last_name", "") or ("山田" if language.startswith("ja") else "Yamada")
    return {
        "first_name": first,
        "last_name": last,
        "full_name": full_name(first, last, language),
        "email": getattr(user, "email", "") or "customer@example.com",
        "order_number": "100042",
        "order_total": "¥12,800",
        "order_date": "2026-11-20",
        "shop_name": shop_name(),
        "unsubscribe_url": "#unsubscribe",
    }


def render_preview(step, request, mode_name: str) -> HttpResponse:
    language = get_language() or settings.LANGUAGE_CODE
    sequence = step.get_parent().specific if step.pk else None
    is_marketing = getattr(sequence, "is_marketing", True)
    ctx = RenderContext(base_url=brand_module.base_url(), language=language, brand=brand_module.brand())
    try:
        compiled = CompiledStep(step, ctx, is_marketing=is_marketing)
    except MergeSyntaxError as error:
        return HttpResponse(
            "<p>" + "<br>".join(escape(m) for m in error.messages) + "</p>", status=200
        )
    mail = compiled.render(sample_values(request.user, language))
    if mode_name == "text":
        body = f"Subject: {mail.subject}\nPreheader: {mail.preheader}\n\n{mail.text}"
        return HttpResponse(body, content_type="text/plain; charset=utf-8")
    return HttpResponse(mail.html)
