"""Rendering one mail outside the dispatcher: previews, test sends and the web version.

It follows the dispatcher's steps (``dispatch.BatchSender.prepare``): the same compiled step, merge
values, personalised blocks prepared through a one-recipient :class:`PreparedBatch`, headers and
sender. The :class:`Mode` decides what may differ: previews and tests never issue coupons and
never carry a working unsubscribe link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import formats, timezone, translation

from ..blocks.base import RenderContext
from ..tokens import UNSUBSCRIBE, WEB_VERSION, make_token
from . import brand as brand_module
from .batch import Mode, PreparedBatch, Recipient
from .compile import CompiledStep, RenderedMail
from .context import recipient_values


@dataclass
class SingleMail:
    """One rendered mail with what would be sent along with it."""

    mail: RenderedMail
    from_email: str
    reply_to: str
    to: str
    headers: dict[str, str] = field(default_factory=dict)
    brand: dict[str, Any] = field(default_factory=dict)

    @property
    def html_bytes(self) -> int:
        return len(self.mail.html.encode("utf-8"))


def sample_order_values(data: Any, language: str) -> dict[str, str]:
    """Merge values of an order that exists only as data (a built sample)."""
    from ..blocks.commerce import money

    with translation.override(language):
        return {
            "order_number": data.number,
            "order_total": money(data.total, data.currency) if data.total is not None else "",
            "order_date": formats.date_format(timezone.localtime(data.date or timezone.now()), "DATE_FORMAT"),
        }


def render_single(
    step: Any,
    recipient: Recipient,
    *,
    mode: str,
    now: datetime | None = None,
    is_marketing: bool | None = None,
    web_version_url: str | None = None,
) -> SingleMail:
    """Render ``step`` (any revision, saved or not) for one recipient.

    Raises ``rendering.merge.MergeSyntaxError`` when the step's text has invalid merge fields.
    """
    base_url = brand_module.base_url()
    brand = brand_module.brand(link_base=base_url)
    sequence = recipient.sequence
    if is_marketing is None:
        is_marketing = getattr(sequence, "is_marketing", True)
    language = recipient.language
    ctx = RenderContext(base_url=base_url, language=language, brand=brand)
    compiled = CompiledStep(step, ctx, is_marketing=is_marketing)

    batch = PreparedBatch([recipient], mode=mode, now=now, base_url=base_url)
    batch.prepare_steps({step: [recipient]})

    contact = recipient.contact
    # {{ shop_name }} is the name the layout shows: the brand settings' first.
    values = recipient_values(contact, recipient.enrollment, recipient.trigger, language, shop=brand["shop_name"])
    if recipient.trigger is None and recipient.sample is not None:
        values.update(sample_order_values(recipient.sample, language))
    delivery = recipient.delivery
    values.update(batch.values_for(delivery))
    if web_version_url is not None:
        values["web_version_url"] = web_version_url
    elif not values.get("web_version_url"):
        values["web_version_url"] = "#"

    headers: dict[str, str] = {}
    from_email = brand_module.from_email(brand)
    domain = from_email.rsplit("@", 1)[-1].strip("> ") or "localhost"
    if delivery is not None and delivery.pk is not None:
        headers["Message-ID"] = f"<stepmail.{delivery.pk}@{domain}>"
    reply_to = brand_module.reply_to(brand)
    if reply_to:
        headers["Reply-To"] = reply_to
    if is_marketing:
        real = mode == Mode.WEB and getattr(contact, "pk", None) is not None
        if real:
            token = make_token(UNSUBSCRIBE, {"c": contact.pk, "d": getattr(delivery, "pk", None)})
            url = base_url + reverse("stepmail:unsubscribe", args=[token])
        else:
            # A preview or test must never unsubscribe anyone when its link is followed.
            url = "#unsubscribe"
        values["unsubscribe_url"] = url
        if real:
            headers["List-Unsubscribe"] = f"<{url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    recipient_ctx = RenderContext(
        base_url=base_url,
        language=language,
        brand=brand,
        recipient=values,
        objects={
            "trigger": recipient.trigger,
            "enrollment": recipient.enrollment,
            "contact": contact,
            "delivery": delivery,
            "sequence": sequence,
            "batch": batch,
            "recipient_key": recipient.key,
        },
    )
    mail = compiled.render(values, recipient_ctx)
    return SingleMail(
        mail=mail,
        from_email=from_email,
        reply_to=reply_to,
        to=getattr(contact, "email", "") or "",
        headers=headers,
        brand=brand,
    )


def web_version_url_for_test(step: Any, user: Any) -> str:
    """A signed "view in browser" link for a test mail: the step's latest revision, the editor's data."""
    token = make_token(WEB_VERSION, {"s": step.pk, "u": user.pk, "t": 1})
    return brand_module.base_url() + reverse("stepmail:web_version", args=[token])
