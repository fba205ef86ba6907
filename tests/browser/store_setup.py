"""Prepares the example store for the browser tests, after ``migrate`` and ``load_demo``.

Run by the session fixture as ``python tests/browser/store_setup.py`` with the example store's
environment (``DATABASE_URL``, ``EMAIL_OUTBOX_DIR``…). It adds what the demo data has not:

* a real Oscar order (a guest buys two tops), so previews show real order lines and products;
* a banner picture in Wagtail's image library, for the image blocks;
* a draft sequence 「ブロック見本」 in its own folder with one step per block type, which the
  gallery test previews and photographs for ``docs/blocks.md``.

Prints one JSON line: the ids the tests need.
"""

from __future__ import annotations

import json
import os
import sys
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "example_project"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.images import ImageFile  # noqa: E402
from oscar.core.loading import get_model  # noqa: E402
from PIL import Image as PILImage  # noqa: E402
from PIL import ImageDraw  # noqa: E402
from wagtail.images.models import Image  # noqa: E402

from demo.extras import COUPON_NAME, SURVEY_SLUG  # noqa: E402
from demo.orders import place_demo_order  # noqa: E402
from demo.pages import home_page, publish_child  # noqa: E402
from stepmail_plugin.blocks import StepBodyBlock  # noqa: E402
from stepmail_plugin.models import (  # noqa: E402
    SequenceIndexPage,
    SequencePage,
    StepEmailPage,
    SurveyPage,
    VoucherTemplate,
)

Product = get_model("catalogue", "Product")

#: The guest whose order the previews show (the latest order of the shop).
SAMPLE_BUYER = "sample.buyer@example.com"
GALLERY_FOLDER = "block-gallery"
NAME = '{{ last_name|default:"お客" }}様'


def banner() -> Image:
    """A 1200 × 500 banner (drawn leaves on a soft green) in Wagtail's image library."""
    picture = PILImage.new("RGB", (1200, 500), "#e8efe4")
    draw = ImageDraw.Draw(picture)
    for i, (x, y) in enumerate([(180, 140), (420, 300), (700, 120), (960, 320), (1080, 90)]):
        colour = ["#9dbf8e", "#7fa870", "#b9d3a8", "#8fb57f", "#a7c896"][i]
        draw.ellipse((x - 120, y - 60, x + 120, y + 60), fill=colour)
        draw.line((x - 100, y + 40, x + 100, y - 40), fill="#5d7f52", width=5)
    draw.rectangle((0, 430, 1200, 500), fill="#c9d8c0")
    data = BytesIO()
    picture.save(data, format="PNG", optimize=True)
    data.seek(0)
    image = Image(title="新緑のバナー")
    image.file.save("banner.png", ImageFile(data, name="banner.png"), save=False)
    image.save()
    return image


def gallery_bodies(image: Image, coupon: VoucherTemplate, survey: SurveyPage, products) -> dict:
    """One body per block type: what the gallery step of that block contains."""
    shop = "http://127.0.0.1/shop/"
    text = (
        f"<p>{NAME}</p><p>このたびは<b>リネンシャツ</b>をお買い上げいただき、ありがとうございます。"
        f'お手入れの方法は<a href="{shop}">ショップのガイド</a>でもご紹介しています。</p>'
        "<ul><li>はじめは手洗いがおすすめです</li><li>干す前に軽く引っぱってシワを伸ばします</li></ul>"
    )
    short = "<p>洗うほどに柔らかくなるリネンは、夏も冬も長く着られる素材です。</p>"
    return {
        "heading": [{"type": "heading", "value": "{{ shop_name }}からのお知らせ"}],
        "paragraph": [{"type": "paragraph", "value": text}],
        "button": [
            {"type": "paragraph", "value": "<p>新作のリネンアイテムが入荷しました。</p>"},
            {"type": "button", "value": {"text": "新作を見る", "page": None, "url": shop}},
        ],
        "image": [{"type": "image", "value": {"image": image.pk, "alt_text": "新緑のリネンコレクション",
                                                "link": shop}}],
        "text_image": [{"type": "text_image", "value": {
            "image": image.pk, "alt_text": "新緑のリネンコレクション",
            "text": "<h3>新緑のリネン</h3><p>風を通す平織りのリネンで、初夏のコーディネートを軽やかに。</p>",
            "image_position": "left", "link": shop}}],
        "divider": [
            {"type": "paragraph", "value": short},
            {"type": "divider", "value": None},
            {"type": "paragraph", "value": "<p>ご不明な点は、このメールにご返信ください。</p>"},
        ],
        "spacer": [
            {"type": "paragraph", "value": short},
            {"type": "spacer", "value": {"height": "64"}},
            {"type": "paragraph", "value": "<p>(上の余白が「スペース」ブロックです)</p>"},
        ],
        "products": [{"type": "products", "value": {
            "heading": "お買い上げのトップスに合うアイテム", "sources": ["recommended", "upsell", "bestsellers"],
            "products": [], "count": 3, "upsell_percent": 50, "button_text": "詳しく見る"}}],
        "order_summary": [{"type": "order_summary", "value": {
            "heading": "ご注文内容", "show_images": True, "show_totals": True}}],
        "voucher": [{"type": "voucher", "value": {
            "template": coupon.pk, "heading": "次回のお買い物に使えるクーポン",
            "text": f"<p>{NAME}、いつもありがとうございます。</p>", "button_text": "ショップへ",
            "page": None, "url": shop}}],
        "review_request": [{"type": "review_request", "value": {
            "heading": "着心地はいかがでしたか?", "text": "<p>ひとことレビューをお寄せください。</p>",
            "button_text": "レビューを書く"}}],
        "survey": [{"type": "survey", "value": {
            "page": survey.pk, "heading": "アンケートのお願い",
            "text": "<p>1分で終わる簡単なアンケートです。</p>", "button_text": "アンケートに答える"}}],
    }


def gallery(owner) -> dict[str, int]:
    """The draft sequence of block examples; returns {block name: step page id}."""
    image = banner()
    coupon = VoucherTemplate.objects.get(name=COUPON_NAME)
    survey = SurveyPage.objects.get(slug=SURVEY_SLUG)
    products = list(Product.objects.order_by("pk"))
    folder = publish_child(home_page(), SequenceIndexPage(title="ブロック見本", slug=GALLERY_FOLDER), owner)
    sequence = SequencePage(title="ブロック見本", slug="blocks", trigger="order_placed", live=False, owner=owner)
    folder.add_child(instance=sequence)
    sequence.save_revision(user=owner)
    body_block = StepBodyBlock()
    steps = {}
    for name, body in gallery_bodies(image, coupon, survey, products).items():
        step = StepEmailPage(title=name, slug=name.replace("_", "-"), delay_value=0, delay_unit="days",
                             subject=f"{name} ブロックの見本", preheader="ブロックの見本です", body=body,
                             live=False, owner=owner)
        body_block.clean(step.body)
        sequence.add_child(instance=step)
        step.save_revision(user=owner)
        steps[name] = step.pk
    return steps


def main() -> None:
    owner = get_user_model().objects.get(username="admin")
    order = place_demo_order(SAMPLE_BUYER).order
    steps = gallery(owner)
    apparel = SequencePage.objects.get(slug="apparel-after-purchase")
    print(json.dumps({"order": order.number, "gallery": steps, "apparel": apparel.pk}))


if __name__ == "__main__":
    main()
