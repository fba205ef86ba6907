"""StreamField blocks for step mails. Each renders email-safe HTML and a plain-text form."""

from wagtail import blocks

from .activity import LeftItemsBlock
from .base import EmailBlockMixin, RenderContext
from .commerce import OrderSummaryBlock, ProductsBlock, ReviewRequestBlock, VoucherBlock
from .content import (
    ButtonBlock,
    DividerBlock,
    HeadingBlock,
    ImageBlock,
    ParagraphBlock,
    SpacerBlock,
    TextImageBlock,
)
from .engagement import SurveyBlock


class StepBodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = ParagraphBlock()
    image = ImageBlock()
    text_image = TextImageBlock()
    button = ButtonBlock()
    products = ProductsBlock()
    order_summary = OrderSummaryBlock()
    voucher = VoucherBlock()
    review_request = ReviewRequestBlock()
    survey = SurveyBlock()
    divider = DividerBlock()
    spacer = SpacerBlock()
    left_items = LeftItemsBlock()


__all__ = ["EmailBlockMixin", "RenderContext", "StepBodyBlock"]
