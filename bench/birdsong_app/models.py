from birdsong.blocks import DefaultBlocks
from birdsong.models import Campaign, Contact
from django.db import models
from wagtail import blocks
from wagtail.fields import StreamField
from wagtail.images.blocks import ImageChooserBlock


class BenchBlocks(DefaultBlocks):
    """Birdsong's rich text plus blocks for the rest of the bench step (heading, image, button,
    products, order summary), each rendered by an MJML template."""

    heading = blocks.CharBlock(template="mail/blocks/heading.html")
    image = ImageChooserBlock(template="mail/blocks/image.html")
    button = blocks.StructBlock(
        [("text", blocks.CharBlock()), ("url", blocks.URLBlock())], template="mail/blocks/button.html"
    )
    products = blocks.StaticBlock(template="mail/blocks/products.html")
    order_summary = blocks.StaticBlock(template="mail/blocks/order_summary.html")


class BenchContact(Contact):
    """Birdsong's documented way to personalise: an extended contact."""

    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    order_number = models.CharField(max_length=128, blank=True)


class BenchCampaign(Campaign):
    body = StreamField(BenchBlocks(), blank=True)
