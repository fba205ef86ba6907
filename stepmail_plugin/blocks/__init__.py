"""StreamField blocks for step mails. Each renders email-safe HTML and a plain-text form."""

from wagtail import blocks

from .activity import LeftItemsBlock
from .base import EmailBlockMixin, RenderContext
from .content import ButtonBlock, DividerBlock, HeadingBlock, ImageBlock, ParagraphBlock


class StepBodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = ParagraphBlock()
    image = ImageBlock()
    button = ButtonBlock()
    divider = DividerBlock()
    left_items = LeftItemsBlock()


__all__ = ["EmailBlockMixin", "RenderContext", "StepBodyBlock"]
