"""Content blocks of a step mail: heading, paragraph, image, button, divider, spacer, text + image."""

from __future__ import annotations

import re
from typing import Any

import html2text
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.images.blocks import ImageChooserBlock

from ..editor.mergefields import FEATURE as MERGE_FEATURE
from ..editor.mergefields import MergeTextInput
from ..rendering.merge import merge_field_errors, validate_merge_text
from .base import EmailBlockMixin, RenderContext

MERGE_HELP = _('Merge fields such as {{ first_name }} or {{ first_name|default:"お客様" }} are allowed.')


_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")


def html_to_text(html: str) -> str:
    """Plain-text form of a piece of HTML: links as 'text (url)', no line wrapping."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_emphasis = True
    converter.ignore_images = True
    converter.inline_links = True
    converter.protect_links = False
    converter.unicode_snob = True
    text = _MARKDOWN_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})" if m.group(1) else m.group(2),
                              converter.handle(html))
    # Only blank lines are trimmed: a list's first item keeps its indent.
    return text.strip("\n").rstrip()


def _literal(text: str) -> str:
    """Text from outside the step (an image's title in the library) as it reads, never as a merge
    field or a tag: the step's HTML is read for ``{{ … }}`` when it is compiled."""
    return text.replace("{{", "{ {").replace("}}", "} }").replace("{%", "{ %").replace("{#", "{ #")


def _check_merge_fields(value: Any, *names: str) -> None:
    """Raise a block error for each of the struct's ``names`` holding anything but allowed merge
    fields. Links count too: the step's whole HTML is read for merge fields when it is compiled,
    so a ``{{ … }}`` in a URL that passed here would fail every recipient's mail instead."""
    errors = merge_field_errors({name: str(getattr(value.get(name), "source", value.get(name)) or "")
                                 for name in names})
    if errors:
        raise StructBlockValidationError(
            block_errors={name: ValidationError(found) for name, found in errors.items()}
        )


class MergeCharBlock(blocks.CharBlock):
    """A CharBlock whose text may hold merge fields (validated when the page is saved), with the
    merge-field picker next to its input."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The widget is no constructor argument, so it stays out of the migrations' block
        # definitions; it keeps the input's attributes (maxlength) and required state.
        widget = MergeTextInput(attrs=self.field.widget.attrs)
        widget.is_required = self.field.widget.is_required
        self.field.widget = widget

    def clean(self, value):
        value = super().clean(value)
        validate_merge_text(value)
        return value


class HeadingBlock(EmailBlockMixin, MergeCharBlock):
    email_template = "stepmail/mail/blocks/heading.html"
    text_template = "stepmail/mail/blocks/heading.txt"

    class Meta:
        icon = "title"
        label = _("Heading")
        form_classname = "title"


class MergeRichTextBlock(blocks.RichTextBlock):
    """A rich text inside another block whose text may hold merge fields (checked by the block
    around it), with the merge-field picker in its toolbar."""

    def __init__(self, *args: Any, **kwargs: Any):
        # Added here, not given by the caller: the picker is part of the editor, not of the
        # stored text, and constructor arguments are what migrations record.
        features = kwargs.get("features")
        if features is not None and MERGE_FEATURE not in features:
            kwargs["features"] = [*features, MERGE_FEATURE]
        super().__init__(*args, **kwargs)


class ParagraphBlock(EmailBlockMixin, blocks.RichTextBlock):
    email_template = "stepmail/mail/blocks/paragraph.html"
    text_template = "stepmail/mail/blocks/paragraph.txt"

    def __init__(self, **kwargs):
        # The merge-field picker (a toolbar control) is part of the editor, not of the stored
        # text; features set here are not in migrations (only constructor arguments are).
        kwargs.setdefault("features", ["bold", "italic", "link", "ol", "ul", "h3", "stepmail-merge-field"])
        kwargs.setdefault("help_text", MERGE_HELP)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        validate_merge_text(value.source)
        return value

    def render_text(self, value: Any, ctx: RenderContext) -> str:
        return html_to_text(str(value))

    class Meta:
        icon = "pilcrow"
        label = _("Paragraph")


class ImageBlock(EmailBlockMixin, blocks.StructBlock):
    image = ImageChooserBlock(label=_("Image"))
    alt_text = blocks.CharBlock(
        label=_("Alternative text"),
        required=False,
        help_text=_("Shown when the mail client blocks images; describe the picture."),
    )
    link = blocks.URLBlock(label=_("Link"), required=False)

    email_template = "stepmail/mail/blocks/image.html"
    text_template = "stepmail/mail/blocks/image.txt"

    def email_context(self, value, ctx):
        context = super().email_context(value, ctx)
        image = value.get("image")
        if image is not None:
            rendition = image.get_rendition("width-1200")
            context["src"] = ctx.absolute(rendition.url)
            context["alt"] = value.get("alt_text") or _literal(image.title)
        return context

    def clean(self, value):
        value = super().clean(value)
        _check_merge_fields(value, "alt_text", "link")
        return value

    class Meta:
        icon = "image"
        label = _("Image")


class ButtonBlock(EmailBlockMixin, blocks.StructBlock):
    text = MergeCharBlock(label=_("Button text"), max_length=80)
    page = blocks.PageChooserBlock(label=_("Link to a page"), required=False)
    url = blocks.URLBlock(label=_("…or to a URL"), required=False)

    email_template = "stepmail/mail/blocks/button.html"
    text_template = "stepmail/mail/blocks/button.txt"

    def email_context(self, value, ctx):
        context = super().email_context(value, ctx)
        page = value.get("page")
        context["href"] = ctx.absolute(page.url if page else value.get("url") or "")
        return context

    def clean(self, value):
        value = super().clean(value)
        if not self.is_deferred_validation and not value.get("page") and not value.get("url"):
            raise StructBlockValidationError(
                block_errors={"url": ValidationError(_("Choose a page or enter a URL for the button."))}
            )
        _check_merge_fields(value, "url")
        return value

    class Meta:
        icon = "link"
        label = _("Button")


class DividerBlock(EmailBlockMixin, blocks.StaticBlock):
    email_template = "stepmail/mail/blocks/divider.html"
    text_template = "stepmail/mail/blocks/divider.txt"

    class Meta:
        icon = "horizontalrule"
        label = _("Divider")
        admin_text = _("A horizontal line.")


class SpacerBlock(EmailBlockMixin, blocks.StructBlock):
    height = blocks.ChoiceBlock(
        label=pgettext_lazy("stepmail", "Height"),
        choices=[("16", _("Small")), ("32", _("Medium")), ("64", _("Large"))],
        default="32",
    )

    email_template = "stepmail/mail/blocks/spacer.html"
    text_template = "stepmail/mail/blocks/spacer.txt"

    class Meta:
        icon = "arrows-up-down"
        label = _("Space")


class TextImageBlock(EmailBlockMixin, blocks.StructBlock):
    """Two columns, text beside a picture; on phones the picture comes first, above the text."""

    image = ImageChooserBlock(label=_("Image"))
    alt_text = blocks.CharBlock(
        label=_("Alternative text"),
        required=False,
        help_text=_("Shown when the mail client blocks images; describe the picture."),
    )
    text = MergeRichTextBlock(
        label=pgettext_lazy("stepmail", "Text"), features=["bold", "italic", "link", "h3", "ul"], help_text=MERGE_HELP
    )
    image_position = blocks.ChoiceBlock(
        label=_("Picture on the"), choices=[("left", _("Left")), ("right", _("Right"))], default="left"
    )
    link = blocks.URLBlock(label=_("Picture links to"), required=False)

    email_template = "stepmail/mail/blocks/text_image.html"
    text_template = "stepmail/mail/blocks/text_image.txt"

    def email_context(self, value, ctx):
        context = super().email_context(value, ctx)
        image = value.get("image")
        if image is not None:
            context["src"] = ctx.absolute(image.get_rendition("width-560").url)
            context["alt"] = value.get("alt_text") or _literal(image.title)
        context["text_plain"] = html_to_text(str(value.get("text") or ""))
        return context

    def clean(self, value):
        value = super().clean(value)
        _check_merge_fields(value, "alt_text", "text", "link")
        return value

    class Meta:
        icon = "doc-full"
        label = _("Text and image")
