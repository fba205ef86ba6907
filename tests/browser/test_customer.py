"""As a customer: buy in the shop, receive the first step mail, read it in the browser, unsubscribe
from its link — and get no further step mail, while the operator sees why in the admin."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html import unescape

from playwright.sync_api import expect

from .wagtail_ui import sidebar

CUSTOMER = "misaki.sato@example.com"
THANKS = "【こもれび洋品店】ご購入ありがとうございます"
SECOND = "もう洋服は着てみましたか?"


def link(html: str, text: str) -> str:
    """The href of the anchor whose text is ``text`` in a mail's HTML."""
    match = re.search(r'<a [^>]*href="([^"]+)"[^>]*>\s*' + re.escape(text), html)
    assert match, f"no link “{text}” in the mail"
    return unescape(match.group(1))


def test_customer_buys_reads_the_mail_in_the_browser_and_unsubscribes(page, admin, store, shots):
    # -- a guest buys a shirt through Oscar's checkout ------------------------------------------------
    page.goto("/shop/")
    page.get_by_role("link", name="トップス").first.click()  # the category list of the shop
    expect(page.get_by_text("3 件の結果")).to_be_visible()
    page.get_by_role("link", name="リネンシャツ", exact=True).first.click()
    page.get_by_role("button", name="カートに入れる").first.click()
    expect(page.get_by_text("「リネンシャツ」をカートに追加しました。")).to_be_visible()
    page.goto("/shop/basket/")
    page.get_by_role("link", name="注文確認画面へ").click()
    page.get_by_label("私のメールアドレスは").fill(CUSTOMER)
    page.get_by_label("私は新規の顧客で、ゲストとして購入したい。").check()
    page.get_by_role("button", name="次へ").click()
    page.locator("#id_last_name").fill("佐藤")
    page.locator("#id_first_name").fill("美咲")
    page.locator("#id_line1").fill("神宮前1-2-3")
    page.locator("#id_line4").fill("渋谷区")
    page.locator("#id_state").fill("東京都")
    page.locator("#id_postcode").fill("150-0001")
    page.get_by_role("button", name="次へ").click()
    page.get_by_role("link", name="次へ").click()  # no payment needed in the demo shop
    page.get_by_role("button", name="注文の確定").click()
    expect(page.get_by_text("注文を確定し確認メールを送信しました")).to_be_visible()
    number = re.search(r"注文番号は (\d+)", page.locator("body").inner_text()).group(1)
    shots.take(page, "customer-order-placed", docs=False)

    # -- the dispatcher sends the first step of 「購入後フォロー(アパレル)」 ---------------------------
    store.dispatch()
    mails = [m for m in store.mails(to=CUSTOMER) if m.subject.startswith(THANKS)]
    assert len(mails) == 1
    thanks = mails[0]
    assert f"注文番号 {number}" in thanks.subject
    assert thanks.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert "佐藤様" in thanks.text

    # -- "view in browser" shows the same mail ----------------------------------------------------
    page.set_viewport_size({"width": 680, "height": 900})
    page.goto(link(thanks.html, "このメールをブラウザで表示"))
    expect(page.get_by_role("heading", name="ご購入ありがとうございます")).to_be_visible()
    expect(page.get_by_text(f"注文番号 {number}")).to_be_visible()
    expect(page.get_by_text("佐藤様")).to_be_visible()
    shots.take(page.locator(".sm-container"), "block-web-version")
    page.set_viewport_size({"width": 1280, "height": 800})
    # Its button leads back to the shop's catalogue (through the tracked link).
    page.get_by_role("link", name="ショップを見る").click()
    expect(page.get_by_role("link", name="デニムパンツ", exact=True).first).to_be_visible()
    expect(page.get_by_text("8 件の結果")).to_be_visible()

    # -- unsubscribe from the link at the foot of the mail -------------------------------------------
    page.goto(link(thanks.html, "これらのメールの配信を停止する"))
    expect(page.get_by_role("heading", name="配信停止")).to_be_visible()
    expect(page.get_by_text("へのマーケティングメールの配信を停止しますか？")).to_be_visible()
    assert CUSTOMER not in page.locator("body").inner_text()  # the address is masked
    shots.take(page, "customer-unsubscribe")
    page.get_by_role("button", name="配信停止").click()
    expect(page.get_by_role("heading", name="配信を停止しました")).to_be_visible()
    shots.take(page, "customer-unsubscribed")

    # -- eight days later the dispatcher sends the next steps to others, but not to her -----------------
    later = datetime.now(timezone.utc) + timedelta(days=8)
    store.dispatch(at=later)
    assert [m.subject for m in store.mails(to=CUSTOMER) if "こもれび洋品店" in m.subject or SECOND in m.subject] \
        == [thanks.subject]
    # The demo's other buyer, still subscribed, got the day-3 step in the same run.
    assert any(m.subject == SECOND for m in store.mails(to="sample.buyer@example.com"))

    # -- the operator sees the unsubscribe in the admin ------------------------------------------------
    admin.goto("/cms/")
    sidebar(admin, "ステップメール", "コンタクト")
    admin.get_by_role("textbox", name="検索").last.fill(CUSTOMER)
    admin.keyboard.press("Enter")
    row = admin.locator("tr").filter(has_text=CUSTOMER)
    expect(row).to_contain_text("配信停止")
    shots.take(admin, "operator-contacts")
