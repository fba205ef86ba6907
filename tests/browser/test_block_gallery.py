"""Each block of a step mail as the customer sees it: the gallery steps of store_setup.py rendered by
the step preview with the shop's real order (the pictures of docs/blocks.md)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

#: What the customer must see in the mail of each block (beyond the block rendering at all).
EXPECTED = {
    "heading": ["こもれび洋品店からのお知らせ"],
    # The editor's own name (the demo admin, 店長 花子) with the shop's latest order.
    "paragraph": ["店長様", "このたびはリネンシャツをお買い上げいただき", "はじめは手洗いがおすすめです"],
    "button": ["新作を見る"],
    "image": [],
    "text_image": ["新緑のリネン", "風を通す平織りのリネン"],
    "divider": ["ご不明な点は、このメールにご返信ください。"],
    "spacer": ["(上の余白が「スペース」ブロックです)"],
    # Oscar's recommendations of the shirt bought (the latest order of the shop: the setup's, or
    # one another test placed, with the shirt too), not what was bought.
    "products": ["お買い上げのトップスに合うアイテム", "リネンイージーパンツ", "デニムパンツ", "詳しく見る"],
    "order_summary": ["ご注文内容", "リネンシャツ", "数量", "小計", "合計"],
    "voucher": ["次回のお買い物に使えるクーポン", "10%オフ", "SAMPLE-0000", "有効期限"],
    "review_request": ["着心地はいかがでしたか?", "リネンシャツ", "レビューを書く"],
    "survey": ["アンケートのお願い", "アンケートに答える"],
}


@pytest.mark.parametrize("block", list(EXPECTED))
def test_each_block_renders_in_the_mail_with_the_shops_real_order(admin, store, shots, block):
    admin.set_viewport_size({"width": 680, "height": 900})
    step = store.ids["gallery"][block]
    admin.goto(f"/cms/stepmail/steps/{step}/preview/?mode=raw")
    mail = admin.locator(".sm-container")
    expect(mail).to_be_visible()
    for text in EXPECTED[block]:
        expect(mail.get_by_text(text, exact=False).first).to_be_visible()
    if block in ("image", "text_image", "products", "order_summary"):
        pictures = mail.locator(".sm-content img")
        expect(pictures.first).to_be_visible()
        # Every picture loaded (absolute URLs to the shop's media), none broken.
        assert all(img.evaluate("i => i.complete && i.naturalWidth > 0") for img in pictures.all())
    if block == "products":
        expect(mail.locator(".sm-content").get_by_text("リネンシャツ")).to_have_count(0)  # already bought
    # The mail as the customer sees it, from the brand header to the legal footer.
    shots.take(mail, f"block-{block.replace('_', '-')}")
