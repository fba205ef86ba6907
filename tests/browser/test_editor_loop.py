"""The editor's loop in the Japanese admin: log in, create a sequence from a ready-made template,
add a step with blocks, preview it (desktop, phone, plain text), test-send it, publish, and see
its report."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import ADMIN
from .wagtail_ui import (
    add_block,
    choose,
    explorer_rows,
    heading,
    messages,
    save_draft,
    scroll_to,
    sidebar,
    type_rich_text,
)

TEMPLATE = "レビュー依頼とクーポン"
STEP_TITLE = "3. 2週間後のお礼クーポン"
SUBJECT = '{{ first_name|default:"お客様" }}へ、次回使えるクーポンです'
PREHEADER = "お買い上げのアイテムに合う商品もご紹介します"


def test_editor_builds_previews_test_sends_and_publishes_a_sequence(page, store, shots):
    # -- log in (the Japanese browser gets the Japanese admin) --------------------------------------
    page.goto("/cms/")
    expect(page.get_by_role("heading", name="Wagtailへサインイン")).to_be_visible()
    shots.take(page, "editor-login", docs=False)
    page.get_by_placeholder("ユーザー名を入力してください").fill(ADMIN[0])
    page.get_by_placeholder("パスワードを入力してください").fill(ADMIN[1])
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", name="ステップメール", exact=True)).to_be_visible()
    shots.take(page, "editor-dashboard")

    # -- a sequence from a ready-made template (「ステップメールテンプレート」 menu) ----------------------
    page.get_by_role("link", name="ステップメールテンプレート").click()
    expect(page.locator("h1, h2").filter(has_text="テンプレートシナリオ").first).to_be_visible()
    card = page.locator("section").filter(has=page.get_by_role("heading", name=TEMPLATE))
    card.get_by_label("クーポンテンプレート").select_option(label="お礼クーポン10%")
    card.get_by_label("アンケートページ").select_option(label="お買い物アンケート")
    expect(card).to_contain_text("トリガー: 注文完了 (order_placed)")
    scroll_to(page, card)
    shots.take(page, "editor-templates")
    card.get_by_role("button", name="このシナリオを作成").click()
    expect(messages(page)).to_contain_text(f"「{TEMPLATE}」を2ステップの下書きとして作成しました")
    # The sequence's steps, in the order they are sent, each a draft.
    rows = explorer_rows(page)
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("ご購入の商品はいかがでしたか?")
    expect(rows.nth(1)).to_contain_text("レビューを書いて特典ゲット")
    expect(rows.nth(0)).to_contain_text("下書き")
    sequence_url = page.url
    shots.take(page, "editor-sequence-created")

    # -- a new step with blocks in the StreamField editor -------------------------------------------
    page.get_by_role("link", name="子ページを追加").first.click()
    page.get_by_role("textbox", name="タイトル*").fill(STEP_TITLE)
    page.get_by_role("spinbutton", name="送信タイミング*").fill("14")  # days (the default unit)
    page.get_by_role("textbox", name="件名*").fill(SUBJECT)
    page.get_by_role("textbox", name="プリヘッダー").fill(PREHEADER)
    add_block(page, "段落")
    type_rich_text(page, '{{ last_name|default:"お客" }}様、先日はお買い上げありがとうございました。')
    add_block(page, "ボタン")
    page.locator("#body-1-value-text").fill("ショップを見る")
    page.locator("#body-1-value-url").fill(f"{store.url}/shop/")
    add_block(page, "商品（クロスセル・アップセル）")
    page.locator("#body-2-value-heading").fill("お買い上げの商品に合うアイテム")
    add_block(page, "クーポン")
    choose(page, "クーポンテンプレートを選択", "お礼クーポン10%")
    page.locator("#body-3-value-heading").fill("次回使える10%オフクーポン")
    add_block(page, "注文内容")
    scroll_to(page, heading(page, "本文"))
    shots.take(page, "editor-step-blocks")
    save_draft(page)
    # (created, or updated when Wagtail's autosave made the draft first)
    expect(messages(page)).to_contain_text(f"'{STEP_TITLE}'")

    # -- preview with real data: desktop, phone, plain text -----------------------------------------
    page.locator("header").get_by_role("button", name="操作").click()  # the header's "…" menu
    page.get_by_role("link", name="実データでプレビュー").click()
    info = page.locator(".sm-mail-info")
    expect(info).to_contain_text("件名")
    # The subject's merge field is filled in (with the editor's own first name, 花子).
    expect(info).to_contain_text("花子へ、次回使えるクーポンです")
    expect(info).to_contain_text(PREHEADER)
    # Sample data: the shop's latest real order.
    expect(info).to_contain_text(re.compile(r"注文 1\d{5}（.*最新）"))
    mail = page.frame_locator("iframe.sm-frame")
    expect(mail.get_by_text("様、先日はお買い上げありがとうございました。")).to_be_visible()
    expect(mail.get_by_role("link", name="ショップを見る")).to_be_visible()
    expect(mail.get_by_text("SAMPLE-0000")).to_be_visible()  # previews never create coupons
    expect(mail.get_by_text("リネンシャツ").first).to_be_visible()  # the order's line
    shots.take(page, "editor-preview-desktop")

    page.get_by_role("link", name="スマートフォン").click()
    expect(page.locator("iframe.sm-frame")).to_have_attribute("width", "375")
    expect(page.locator(".sm-mail-info")).to_contain_text(PREHEADER)
    shots.take(page, "editor-preview-phone")

    page.get_by_role("link", name="テキスト形式").click()
    text = page.locator(".sm-text")
    expect(text).to_contain_text("様、先日はお買い上げありがとうございました。")
    expect(text).to_contain_text("SAMPLE-0000")
    expect(page.locator(".sm-mail-info")).to_contain_text("花子へ、次回使えるクーポンです")
    shots.take(page, "editor-preview-text")

    # -- test send: the mail reaches the outbox, marked as a test ------------------------------------
    before = len(store.mails())
    page.get_by_role("link", name="テスト送信").click()
    expect(page.get_by_role("heading", name=re.compile("テスト送信"))).to_be_visible()
    page.get_by_label("送信先").fill("tester@example.com")
    shots.take(page, "editor-test-send")
    page.get_by_role("button", name="テスト送信").click()
    expect(messages(page)).to_contain_text("tester@example.com にテストメールを1通送信しました。")
    mails = store.mails(to="tester@example.com")[before:] or store.mails(to="tester@example.com")
    test_mail = mails[-1]
    assert test_mail.subject == "[テスト] 花子へ、次回使えるクーポンです"
    assert test_mail.header("X-Stepmail-Test") == "1"
    assert "SAMPLE-0000" in test_mail.text
    assert "様、先日はお買い上げありがとうございました。" in test_mail.html

    # -- publish the sequence with all its steps (bulk action of the page explorer) -----------------
    page.goto(sequence_url)
    page.get_by_role("button", name="パンくずリストの表示を切り替え").click()
    page.locator("header").get_by_role("link", name="ステップメール", exact=True).click()
    page.locator("tr").filter(has_text=TEMPLATE).get_by_role("checkbox").check()
    page.get_by_role("link", name="選択したページを公開").click()
    page.get_by_label("下位ページも含める").check()  # Wagtail lacks it; our catalog supplies it
    page.get_by_role("button", name="はい、公開します").click()
    expect(messages(page)).to_be_visible()
    page.goto(sequence_url)
    rows = explorer_rows(page)
    expect(rows).to_have_count(3)
    for i in range(3):
        expect(rows.nth(i)).to_contain_text("公開")
    expect(rows.nth(2)).to_contain_text(STEP_TITLE)

    # -- the report of the sequence (レポート → ステップメール) ----------------------------------------
    sidebar(page, "レポート", "ステップメール")
    page.get_by_role("link", name=TEMPLATE).click()
    expect(page.get_by_role("heading", name="ステップ別ファネル")).to_be_visible()
    funnel = page.locator("table").filter(has_text="ステップ")
    expect(funnel).to_contain_text("ご購入の商品はいかがでしたか?")
    expect(funnel).to_contain_text(STEP_TITLE)
    expect(page.get_by_text("0人がシナリオに参加")).to_be_visible()
