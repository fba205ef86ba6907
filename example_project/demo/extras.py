"""What the commerce blocks of the demo mails use: product pictures, a coupon template and a
survey page.

* **Pictures**: each product gets a drawn picture (a garment silhouette on a soft colour), made
  with Pillow, so product blocks and order summaries in mails show real Oscar thumbnails.
* **Coupon template** 「お礼クーポン10%」 (Snippets → Coupon templates): ready for the voucher
  block and the ready-made sequences that give a coupon.
* **Survey** 「お買い物アンケート」: a step mail survey page under the home page, for the survey
  block.

Everything is found by a stable key before it is created, so loading twice changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

from django.core.files.base import ContentFile
from django.db import transaction
from oscar.core.loading import get_model
from PIL import Image, ImageDraw
from wagtail.models import Page

from stepmail_plugin.models import SurveyFormField, SurveyPage, VoucherTemplate

from .catalogue import PRODUCTS, Catalogue

ProductImage = get_model("catalogue", "ProductImage")

#: Background and garment colour per product (slug → (background, garment)).
COLOURS = {
    "linen-shirt": ("#eef2f7", "#8fa9c9"),
    "organic-cotton-tee": ("#f6f1ea", "#e9e2d6"),
    "wool-cardigan": ("#f3eee8", "#a98467"),
    "denim-pants": ("#eef1f6", "#3f5f8a"),
    "wide-chino-pants": ("#f5f1e8", "#c8b48a"),
    "linen-easy-pants": ("#f2f1ec", "#b9b3a0"),
    "canvas-sneakers": ("#f0f2ef", "#f7f5ee"),
    "leather-loafers": ("#f4eee9", "#6b4a35"),
}
PICTURE_SIZE = 600

COUPON_NAME = "お礼クーポン10%"
SURVEY_SLUG = "shopping-survey"
SURVEY_TITLE = "お買い物アンケート"


def _silhouette(draw: ImageDraw.ImageDraw, category: str, colour: str) -> None:
    """A simple garment shape centred on a 600 × 600 picture."""
    outline = "#55606e"
    if category == "tops":
        draw.polygon(
            [(190, 150), (250, 120), (350, 120), (410, 150), (500, 240), (450, 290), (410, 255),
             (410, 480), (190, 480), (190, 255), (150, 290), (100, 240)],
            fill=colour, outline=outline, width=4,
        )
        draw.arc((260, 100, 340, 160), 0, 180, fill=outline, width=4)
    elif category == "bottoms":
        draw.polygon(
            [(200, 110), (400, 110), (430, 500), (330, 500), (300, 230), (270, 500), (170, 500)],
            fill=colour, outline=outline, width=4,
        )
        draw.line((200, 150, 400, 150), fill=outline, width=4)
    else:  # shoes
        draw.rounded_rectangle((120, 300, 480, 420), radius=50, fill=colour, outline=outline, width=4)
        draw.polygon([(140, 330), (260, 220), (330, 230), (350, 320)], fill=colour, outline=outline, width=4)
        draw.line((120, 405, 480, 405), fill=outline, width=6)


def product_picture(slug: str, category: str) -> bytes:
    """The PNG picture of one demo product."""
    background, garment = COLOURS.get(slug, ("#f1f1f1", "#bbbbbb"))
    image = Image.new("RGB", (PICTURE_SIZE, PICTURE_SIZE), background)
    _silhouette(ImageDraw.Draw(image), category, garment)
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def ensure_pictures(catalogue: Catalogue, log=print) -> None:
    """One picture per demo product that has none."""
    for spec in PRODUCTS:
        product = catalogue.products[spec.slug]
        if ProductImage.objects.filter(product=product).exists():
            log(f"  exists  picture: {spec.title}")
            continue
        image = ProductImage(product=product, caption=spec.title, display_order=0)
        image.original.save(f"{spec.slug}.png", ContentFile(product_picture(spec.slug, spec.category)),
                            save=False)
        image.save()
        log(f"  created picture: {spec.title}")


def ensure_coupon_template(log=print) -> VoucherTemplate:
    """A 10 % thank-you coupon, valid 30 days from the mail, codes starting THANKS."""
    template = VoucherTemplate.objects.filter(name=COUPON_NAME).first()
    if template is not None:
        log(f"  exists  coupon template: {template.name}")
        return template
    template = VoucherTemplate(
        name=COUPON_NAME, discount_type="percentage", value=Decimal("10"), valid_days=30,
        code_prefix="THANKS",
    )
    template.full_clean()
    template.save()
    log(f"  created coupon template: {template.name}")
    return template


@transaction.atomic
def ensure_survey(home: Page, owner=None, log=print) -> SurveyPage:
    """A short after-purchase questionnaire under the home page, published."""
    survey = SurveyPage.objects.filter(slug=SURVEY_SLUG).first()
    if survey is not None:
        log(f"  exists  survey: {survey.title}")
        return survey
    survey = SurveyPage(
        title=SURVEY_TITLE,
        slug=SURVEY_SLUG,
        intro="<p>お買い上げの商品について、ひとことお聞かせください(1分で終わります)。</p>",
        thank_you_text="<p>ご回答ありがとうございました。今後の商品づくりに役立てます。</p>",
        live=False,
        owner=owner,
    )
    home.add_child(instance=survey)
    questions = [
        ("サイズ感はいかがでしたか?", "radio", "小さい\nちょうどよい\n大きい"),
        ("着心地の満足度(5段階)", "dropdown", "5\n4\n3\n2\n1"),
        ("ご感想・ご要望", "multiline", ""),
    ]
    for order, (label, field_type, choices) in enumerate(questions):
        SurveyFormField.objects.create(
            page=survey, sort_order=order, label=label, field_type=field_type, choices=choices,
            required=field_type != "multiline",
        )
    survey.save_revision(user=owner, log_action=True).publish(user=owner)
    log(f"  created survey: {survey.title}")
    return SurveyPage.objects.get(pk=survey.pk)
