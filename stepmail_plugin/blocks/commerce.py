"""Commerce blocks: products (cross-sell and upsell), order summary, coupon, review request.

All are personalised: their data is loaded for a whole batch in ``prepare_batch`` (see
``rendering/batch.py``) and they render per recipient from it. Editor text in them may hold merge
fields; they fill those themselves because they render after the mail's merge pass.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import tzinfo
from decimal import Decimal
from functools import lru_cache
from html import escape as html_escape  # Django's escape() is this behind a lazy-string wrapper
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.snippets.blocks import SnippetChooserBlock

from ..commerce.orders import catalogue_for, line_media
from ..editor.choosers import ProductChooserBlock
from ..rendering.batch import key_from_context
from ..rendering.links import tracked_url
from ..rendering.merge import MergeTemplate
from ..scheduling import contact_zone
from .base import (
    PLACEHOLDERS,
    EmailBlockMixin,
    RenderContext,
    merge,
    own_template,
    placeholder,
    placeholders_wanted,
    rich_text_merge_errors,
)
from .content import MERGE_HELP, MergeCharBlock, MergeRichTextBlock, html_to_text

SOURCE_CHOICES = [
    ("handpicked", _("Hand-picked products (below)")),
    ("recommended", _("Recommended with what they bought (Oscar's recommendations)")),
    ("upsell", _("Upsell: same category, a little more expensive")),
    ("bestsellers", _("Best sellers of the same categories, then of the shop")),
]


def money(amount: Any, currency: str) -> str:
    """An amount in the recipient's language, e.g. ￥4,800 (Oscar's currency format)."""
    if amount is None:
        return ""
    return _money(Decimal(amount), currency or getattr(settings, "OSCAR_DEFAULT_CURRENCY", None) or "",
                  get_language() or "")


@lru_cache(maxsize=4096)
def _money(amount: Decimal, currency: str, language: str) -> str:
    # Babel's formatting is slow and the same prices recur in every mail of a batch.
    from oscar.templatetags.currency_filters import currency as format_currency

    return format_currency(amount, currency or None)


def _active_language(ctx: RenderContext) -> str | None:
    """The language active while this block renders: CompiledStep.render (the only caller of
    ``fragment``) makes ``ctx.language`` active, so Django is not asked again for every block
    and mail. Only a part of cache keys, beside text formatted in that language."""
    return ctx.language or get_language()


def _recipient(ctx: RenderContext) -> Any:
    batch = ctx.objects.get("batch")
    return batch.recipients.get(key_from_context(ctx.objects)) if batch is not None else None


def _campaign(ctx: RenderContext, recipient: Any = None) -> str:
    if recipient is None:
        recipient = _recipient(ctx)
    sequence = getattr(recipient, "sequence", None) if recipient is not None else None
    return getattr(sequence, "slug", "") or ""


@lru_cache(maxsize=512)
def _heading_templates(heading: str) -> tuple[MergeTemplate, MergeTemplate] | tuple[str, str]:
    """A heading's merge templates: its HTML (the plain text escaped, then merged) and its text;
    or, for a heading without merge fields, the (HTML, text) every recipient gets."""
    html, text = MergeTemplate(html_escape(heading), html=True), MergeTemplate(heading, html=False)
    if not html.names:
        return html.render({}), text.render({})
    return html, text


def _escape(text: str) -> str:
    """``html.escape(text)``; most numbers and dates have nothing to escape, and looking is
    cheaper than escape()'s five passes."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return html_escape(text)
    return text


# The placeholders of the order summary's own values in its shared rendering.
_NUMBER = placeholder("number")
_DATE = placeholder("date")
_HEADING = placeholder("heading")


def _track(url: str, ctx: RenderContext, content: str) -> str:
    return tracked_url(url, base_url=ctx.base_url, campaign=_campaign(ctx), content=content)


class PersonalizedStructBlock(EmailBlockMixin, blocks.StructBlock):
    """A personalised block rendered from prepared data; nothing at all when there is none."""

    personalized = True

    def render_email(self, value: Any, ctx: RenderContext) -> str:
        context = self._context(value, ctx)
        return render_to_string(self.email_template, context) if context.get("show") else ""

    def render_text(self, value: Any, ctx: RenderContext) -> str:
        context = self._context(value, ctx)
        return render_to_string(self.text_template, context).strip() if context.get("show") else ""

    def _context(self, value: Any, ctx: RenderContext) -> dict[str, Any]:
        # The HTML and the text part of one mail share one context (ctx is per recipient).
        contexts = ctx.objects.setdefault("_block_contexts", {})
        marker = (id(value), key_from_context(ctx.objects), bool(ctx.objects.get(PLACEHOLDERS)))
        if marker not in contexts:
            contexts[marker] = self.email_context(value, ctx)
        return contexts[marker]

    def heading_parts(self, value: Any, ctx: RenderContext) -> tuple[str, str]:
        """(HTML, text) of the heading with the recipient's merge fields filled in."""
        heading = value.get("heading", "") or ""
        if not heading:
            return "", ""
        # Editor text is plain text: escaped first, then merged (merge values are escaped too).
        # The templates are kept per heading: this runs for every mail.
        html, text = _heading_templates(str(heading))
        if html.__class__ is str:
            return html, text
        return html.render(ctx.recipient), text.render(ctx.recipient)

    def email_context(self, value: Any, ctx: RenderContext) -> dict[str, Any]:
        context = super().email_context(value, ctx)
        html, text = self.heading_parts(value, ctx)
        if placeholders_wanted(ctx) and html:
            html = text = placeholder("heading")
        context["heading"] = mark_safe(html)
        context["heading_text"] = text
        return context

    def fragment_base(
        self, value: Any, ctx: RenderContext, *, language: str | None = None, recipient: Any = None
    ) -> tuple[tuple, dict[str, tuple[str, str]]] | None:
        """What every shared rendering of this block depends on, and the heading to fill in; None
        when a project overrides the block's templates (they may show anything: render per mail).
        ``language`` (the active one) and ``recipient`` (this mail's) when the caller has them."""
        if not (own_template(self.email_template) and own_template(self.text_template)):
            return None
        html, text = self.heading_parts(value, ctx)
        key = (get_language() if language is None else language, ctx.base_url, _campaign(ctx, recipient), bool(html))
        return key, {_HEADING: (html, text)} if html else {}

    def rich_text(self, value: Any, ctx: RenderContext, name: str) -> tuple[str, str]:
        """(HTML, plain text) of a rich-text child with merge fields filled in.

        Expanding rich text (page links) may query, so it is done once per batch, not per mail.
        """
        rich = value.get(name)
        if not rich:
            return "", ""
        batch = ctx.objects.get("batch")
        key = f"richtext:{id(rich)}"
        html = batch.shared(key, lambda b: str(rich)) if batch is not None else str(rich)
        merged = merge(html, ctx)
        return mark_safe(merged), html_to_text(merged)


class ProductsBlock(PersonalizedStructBlock):
    heading = MergeCharBlock(
        label=_("Heading"), required=False, help_text=_("e.g. {{ first_name }}様に合うボトムはこれです")
    )
    sources = blocks.MultipleChoiceBlock(
        label=_("Where the products come from"),
        choices=SOURCE_CHOICES,
        default=["recommended", "bestsellers"],
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Tried in the order listed. Products the customer already bought, hidden products and "
            "products out of stock are skipped, and the next candidate takes their place."
        ),
    )
    # Starts empty: with Wagtail's default of one empty item, an editor who only ticks other
    # sources would meet "This field is required" on publishing.
    products = blocks.ListBlock(ProductChooserBlock(), label=_("Hand-picked products"), required=False,
                                default=[])
    count = blocks.IntegerBlock(label=_("How many products"), default=3, min_value=1, max_value=6)
    upsell_percent = blocks.IntegerBlock(
        label=_("Upsell: at most this many percent more expensive"), default=50, min_value=1, max_value=500
    )
    button_text = blocks.CharBlock(label=_("Link text"), default=_("See the product"), max_length=40)

    email_template = "stepmail/mail/blocks/products.html"
    text_template = "stepmail/mail/blocks/products.txt"

    class Meta:
        icon = "tag"
        label = _("Products (cross-sell / upsell)")

    def clean(self, value):
        value = super().clean(value)
        if self.is_deferred_validation:
            return value
        sources = value.get("sources") or []
        if not sources:
            raise StructBlockValidationError(
                block_errors={"sources": ValidationError(_("Choose at least one source of products."))}
            )
        if sources == ["handpicked"] and not [p for p in value.get("products") or [] if p]:
            raise StructBlockValidationError(
                block_errors={"products": ValidationError(_("Choose the products to show."))}
            )
        return value

    def prepare_batch(self, value, recipients, batch) -> None:
        from ..commerce.recommendations import Selection, select_products

        selection = Selection(
            sources=tuple(value.get("sources") or ()),
            count=value.get("count") or 3,
            handpicked=tuple(p.pk for p in value.get("products") or [] if p is not None),
            upsell_percent=value.get("upsell_percent") or 50,
        )
        found = select_products(batch, recipients, selection)
        for recipient in recipients:
            batch.put(value, recipient.key, found.get(recipient.key, []))

    def fragment(self, value, ctx):
        # The products shown (title, price, links, picture) are the whole of what differs.
        base = self.fragment_base(value, ctx, language=_active_language(ctx), recipient=_recipient(ctx))
        if base is None:
            return None
        key, fills = base
        return ("products", *key, tuple(self.prepared(value, ctx) or ())), fills

    def email_context(self, value, ctx):
        context = super().email_context(value, ctx)
        products = [
            {
                "title": p.title,
                "price": money(p.price, p.currency),
                "url": _track(p.url, ctx, "products"),
                "image_url": p.image_url,
            }
            for p in self.prepared(value, ctx) or []
        ]
        columns = 3 if len(products) in (3, 5, 6) else 2 if len(products) != 1 else 1
        context.update(
            show=bool(products),
            products=products,
            rows=[products[i : i + columns] for i in range(0, len(products), columns)],
            column_width=100 // columns,
        )
        return context


class OrderSummaryBlock(PersonalizedStructBlock):
    heading = MergeCharBlock(label=_("Heading"), required=False, default=_("Your order"))
    show_images = blocks.BooleanBlock(label=_("Show product pictures"), required=False, default=True)
    show_totals = blocks.BooleanBlock(label=_("Show totals"), required=False, default=True)

    email_template = "stepmail/mail/blocks/order_summary.html"
    text_template = "stepmail/mail/blocks/order_summary.txt"

    class Meta:
        icon = "list-ul"
        label = _("Order summary")
        help_text = _("The lines of the order that started the sequence (or of the abandoned basket).")

    def prepare_batch(self, value, recipients, batch) -> None:
        from ..commerce.orders import trigger_data

        data = trigger_data(batch)
        for recipient in recipients:
            batch.put(value, recipient.key, data.get(recipient.key))

    def fragment(self, value, ctx):
        # Orders with the same lines and totals look alike but for their number and date.
        # Runs for every mail: the language and the recipient are looked up once.
        language = _active_language(ctx)
        recipient = _recipient(ctx)
        base = self.fragment_base(value, ctx, language=language, recipient=recipient)
        if base is None:
            return None
        key, fills = base
        order = self.prepared(value, ctx)
        if order is None or not order.lines:
            return ("order_summary", None), {}
        batch = ctx.objects["batch"]
        # Once per batch under a fixed name (catalogue_for builds its key for each call).
        catalogue = batch.shared("order_summary:catalogue", catalogue_for)
        line_media(batch, order, catalogue=catalogue)
        date = self._date(order, ctx, language=language, recipient=recipient)
        lines = tuple([(line.title, line.quantity, line.line_price, line.variant_id, line.product_id, line.url,
                        line.image_url) for line in order.lines])
        key = ("order_summary", *key, catalogue.serial, order.kind, order.currency,
               lines, order.subtotal, order.discount, order.shipping, order.total, bool(date))
        number = str(order.number)
        fills[_NUMBER] = (_escape(number), number)
        if date:
            fills[_DATE] = (_escape(date), date)
        return key, fills

    def _date(self, order, ctx, *, language: str | None = None, recipient: Any = None) -> str:
        if order.date is None:
            return ""
        zone = _zone(ctx) if recipient is None else _zone_of(recipient)
        if zone is None:
            batch = ctx.objects.get("batch")
            if batch is not None:
                zone = batch.active_zone
        return _local_date(timezone.localtime(order.date, zone).date(),
                           (get_language() if language is None else language) or "")

    def email_context(self, value, ctx):
        context = super().email_context(value, ctx)
        order = self.prepared(value, ctx)
        if order is None or not order.lines:
            context["show"] = False
            return context
        line_media(ctx.objects["batch"], order)
        lines = [
            {
                "title": line.title,
                "quantity": line.quantity,
                "price": money(line.line_price, order.currency),
                "image_url": line.image_url,
                "url": _track(line.url, ctx, "order_summary") if line.url else "",
            }
            for line in order.lines
        ]
        totals = []
        if value.get("show_totals"):
            if order.kind == "basket":
                totals.append((_("Subtotal"), money(order.subtotal, order.currency), True))
            else:
                totals.append((_("Subtotal"), money(order.subtotal, order.currency), False))
                if order.discount:
                    totals.append((pgettext_lazy("stepmail", "Discount"), "−" + money(order.discount, order.currency), False))
                if order.shipping is not None:
                    totals.append((pgettext_lazy("stepmail", "Shipping"), money(order.shipping, order.currency), False))
                totals.append((_("Total"), money(order.total, order.currency), True))
        date = self._date(order, ctx)
        number = order.number
        if placeholders_wanted(ctx):
            number = placeholder("number")
            date = placeholder("date") if date else ""
            order = replace(order, number=number)
        context.update(
            show=True,
            order=order,
            number=number,
            is_basket=order.kind == "basket",
            lines=lines,
            totals=[(label, amount, strong) for label, amount, strong in totals if amount],
            date=date,
            show_images=value.get("show_images"),
        )
        return context


@lru_cache(maxsize=1024)
def _local_date(day: Any, language: str) -> str:
    # Django's date formatting is slow and a batch has many orders of the same day.
    return formats.date_format(day, "DATE_FORMAT")


def _zone(ctx: RenderContext) -> tzinfo | None:
    return _zone_of(_recipient(ctx))


def _zone_of(recipient: Any) -> tzinfo | None:
    return contact_zone(getattr(recipient, "contact", None))


class VoucherBlock(PersonalizedStructBlock):
    template = SnippetChooserBlock(
        "stepmail.VoucherTemplate",
        label=_("Coupon template"),
        required=False,
        help_text=_("Every recipient gets their own single-use code from this template when the mail is sent."),
    )
    heading = MergeCharBlock(label=_("Heading"), required=False, default=_("A coupon for you"))
    text = MergeRichTextBlock(
        label=pgettext_lazy("stepmail", "Text"), required=False, features=["bold", "italic", "link"], help_text=MERGE_HELP
    )
    button_text = blocks.CharBlock(label=_("Button text"), required=False, max_length=80)
    page = blocks.PageChooserBlock(label=_("Button links to a page"), required=False)
    url = blocks.URLBlock(label=_("…or to a URL"), required=False)

    email_template = "stepmail/mail/blocks/voucher.html"
    text_template = "stepmail/mail/blocks/voucher.txt"

    class Meta:
        icon = "pick"
        label = _("Coupon")

    def clean(self, value):
        value = super().clean(value)
        errors = rich_text_merge_errors(value)
        if not self.is_deferred_validation:
            if value.get("template") is None:
                errors["template"] = ValidationError(_("Choose the coupon template the codes are made from."))
            if value.get("button_text") and not (value.get("page") or value.get("url")):
                errors["url"] = ValidationError(_("Choose a page or enter a URL for the button."))
        if errors:
            raise StructBlockValidationError(block_errors=errors)
        return value

    def prepare_batch(self, value, recipients, batch) -> None:
        from ..commerce.vouchers import issue_vouchers

        template = value.get("template")
        issued = issue_vouchers(batch, recipients, template) if template is not None else {}
        for recipient in recipients:
            batch.put(value, recipient.key, issued.get(recipient.key))

    def email_context(self, value, ctx):
        from ..models import DiscountType

        context = super().email_context(value, ctx)
        info = self.prepared(value, ctx)
        if info is None:
            context["show"] = False
            return context
        if info.discount_type == DiscountType.FREE_SHIPPING:
            offer = pgettext_lazy("stepmail", "Free shipping")
        elif info.discount_type == DiscountType.FIXED:
            offer = _("%(amount)s off") % {"amount": money(info.value, info.currency)}
        else:
            offer = _("%(percent)s%% off") % {"percent": formats.number_format(info.value.normalize())}
        condition = ""
        if info.minimum_purchase:
            condition = _("On purchases of %(amount)s or more.") % {
                "amount": money(info.minimum_purchase, info.currency)
            }
        expires = formats.date_format(timezone.localtime(info.expires_at, _zone(ctx)), "DATETIME_FORMAT")
        page = value.get("page")
        href = ctx.absolute(page.url if page else value.get("url") or "")
        text_html, text_plain = self.rich_text(value, ctx, "text")
        context.update(
            show=True,
            info=info,
            offer=offer,
            condition=condition,
            expires=expires,
            text_html=text_html,
            text_plain=text_plain,
            href=_track(href, ctx, "voucher") if href else "",
        )
        return context


class ReviewRequestBlock(PersonalizedStructBlock):
    heading = MergeCharBlock(label=_("Heading"), required=False, default=_("How did you like it?"))
    text = MergeRichTextBlock(
        label=pgettext_lazy("stepmail", "Text"), required=False, features=["bold", "italic", "link"], help_text=MERGE_HELP
    )
    button_text = blocks.CharBlock(label=_("Button text"), default=_("Write a review"), max_length=40)

    email_template = "stepmail/mail/blocks/review_request.html"
    text_template = "stepmail/mail/blocks/review_request.txt"

    class Meta:
        icon = "openquote"
        label = _("Review request")
        help_text = _("A link to the review form of each product of the order the customer has not reviewed yet.")

    def clean(self, value):
        value = super().clean(value)
        if errors := rich_text_merge_errors(value):
            raise StructBlockValidationError(block_errors=errors)
        return value

    def prepare_batch(self, value, recipients, batch) -> None:
        from ..commerce.reviews import review_links

        links = review_links(batch, recipients)
        for recipient in recipients:
            batch.put(value, recipient.key, links.get(recipient.key, []))

    def email_context(self, value, ctx):
        context = super().email_context(value, ctx)
        links = self.prepared(value, ctx) or []
        text_html, text_plain = self.rich_text(value, ctx, "text")
        context.update(
            show=bool(links),
            products=[
                {"title": link.title, "image_url": link.image_url, "url": _track(link.review_url, ctx, "review")}
                for link in links
            ],
            text_html=text_html,
            text_plain=text_plain,
        )
        return context
