"""The seed articles' workflow, from an empty sequence, in the Japanese admin:
目的とターゲット → シナリオ → コンテンツ → 配信設定 → テストと改善."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from .wagtail_ui import (
    add_block,
    explorer_rows,
    field,
    heading,
    messages,
    open_tab,
    publish,
    save_draft,
    scroll_to,
    sidebar,
    type_rich_text,
)

TITLE = "リピーター育成フォロー"
PURPOSE = "トップスを5,000円以上購入したお客様に、お礼・着こなし提案・再購入のきっかけを届けて2回目の購入につなげる。"


def next_ten_oclock_in_tokyo() -> datetime:
    now = datetime.now(ZoneInfo("Asia/Tokyo"))
    ten = now.replace(hour=10, minute=0, second=0, microsecond=0)
    return ten if ten > now else ten + timedelta(days=1)


def add_step(page: Page, sequence_url: str, title: str, days: int, subject: str, text: str) -> None:
    """Add a step (child page of the sequence) with a subject and one paragraph, as a draft."""
    page.goto(sequence_url)
    page.get_by_role("link", name="子ページを追加").first.click()
    page.get_by_role("textbox", name="タイトル*").fill(title)
    page.get_by_role("spinbutton", name="送信タイミング*").fill(str(days))
    page.get_by_role("textbox", name="件名*").fill(subject)
    add_block(page, "段落")
    type_rich_text(page, text)


def test_a_new_editor_walks_the_seed_workflow(admin, store, shots):
    page = admin
    # -- 1. 目的とターゲット: a new sequence, its trigger, purpose and who enters -------------------
    page.goto("/cms/pages/")
    page.get_by_role("link", name="Welcome to your new Wagtail site!の子ページを閲覧").click()
    page.get_by_role("link", name="ステップメールの子ページを閲覧").click()
    expect(explorer_rows(page).filter(has_text="購入後フォロー(アパレル)")).to_have_count(1)
    page.get_by_role("link", name="子ページを追加").first.click()
    page.get_by_role("textbox", name="タイトル*").fill(TITLE)
    field(page, "トリガー").select_option(label="注文完了")
    field(page, "目的とターゲット").fill(PURPOSE)
    field(page, "ホールドアウトグループ（％）").fill("10")
    shots.take(page, "workflow-1-purpose")
    open_tab(page, "ルール")
    field(page, "これらのカテゴリから購入").select_option(label="トップス")
    field(page, "最低注文金額").fill("5000")
    scroll_to(page, heading(page, "シナリオ参加の条件"))
    shots.take(page, "workflow-1-targeting")
    # -- 4. 配信設定 (sequence-wide): the send window in the customer's time zone ---------------
    field(page, "配信開始時刻").fill("09:00")
    field(page, "配信終了時刻").fill("20:00")
    scroll_to(page, heading(page, "配信タイミング"))
    shots.take(page, "workflow-4-send-window")
    save_draft(page)
    expect(messages(page)).to_contain_text(TITLE)
    sequence_id = re.search(r"/pages/(\d+)/", page.url).group(1)
    sequence_url = f"/cms/pages/{sequence_id}/"

    # -- 2 + 3. シナリオ and コンテンツ: the steps, each a mail written with blocks -----------------
    add_step(page, sequence_url, "1通目 お礼", 0, "ご購入ありがとうございます",
             '{{ last_name|default:"お客" }}様、このたびはありがとうございます。')
    save_draft(page)
    add_step(page, sequence_url, "2通目 着こなし提案", 3, "{{ first_name|default:\"お客様\" }}に似合う着こなし",
             "お買い上げのトップスに合わせやすいアイテムをご紹介します。")
    add_block(page, "商品（クロスセル・アップセル）")
    # テストと改善: an A/B test of the subject (variant B), measured by clicks
    page.locator("[data-panel-heading-text]").filter(has_text="A/Bテスト").click()
    page.get_by_role("button", name=re.compile("パターン.*追加|追加.*パターン")).click()
    field(page, "パターン名").fill("B 短い件名")
    page.locator("#id_variants-0-subject").fill("着こなしのヒント")
    scroll_to(page, heading(page, "A/Bテスト"))
    shots.take(page, "workflow-5-ab-variant")
    save_draft(page)
    # A third step that would go out before the second: refused on publishing, on the field.
    add_step(page, sequence_url, "3通目 再購入のきっかけ", 1, "新作入荷のお知らせ",
             "前回のメールを見逃した方へ、新作をご案内します。")
    field(page, "送信条件").select_option(label="前回のメールが開封されなかった場合のみ")
    publish(page)
    expect(page.get_by_text("ステップは順番に実行されます").first).to_be_visible()
    scroll_to(page, heading(page, "タイミング"))
    shots.take(page, "workflow-2-step-order-error")
    page.get_by_role("spinbutton", name="送信タイミング*").fill("7")
    publish(page)
    expect(messages(page)).to_contain_text("3通目 再購入のきっかけ")

    page.goto(sequence_url)
    rows = explorer_rows(page)
    expect(rows).to_have_count(3)
    for i, title in enumerate(["1通目 お礼", "2通目 着こなし提案", "3通目 再購入のきっかけ"]):
        expect(rows.nth(i)).to_contain_text(title)
    shots.take(page, "workflow-2-steps")

    # -- publish everything: the folder's bulk "公開" with its steps ------------------------------
    page.get_by_role("button", name="パンくずリストの表示を切り替え").click()
    page.locator("header").get_by_role("link", name="ステップメール", exact=True).click()
    explorer_rows(page).filter(has_text=TITLE).get_by_role("checkbox").check()
    page.get_by_role("link", name="選択したページを公開").click()
    field(page, "下位ページも含める").check()  # Wagtail lacks it; our catalog supplies it
    page.get_by_role("button", name="はい、公開します").click()
    expect(explorer_rows(page).filter(has_text=TITLE)).to_contain_text("公開")

    # -- customers arrive: two demo orders with a week of mail each, then opens and clicks ------------
    store.run("demo_simulate")
    store.run("demo_simulate")
    # demo_simulate runs the dispatcher at the orders' own time of day; this sequence sends only
    # between 09:00 and 20:00, so also run it at 10:00 on the days its steps are due.
    ten = next_ten_oclock_in_tokyo()
    for days in (0, 3, 7):
        store.dispatch(at=ten + timedelta(days=days))
    store.run("stepmail_simulate_events", "--sequence", sequence_id, "--seed", "3")

    # -- 5. テストと改善: the report, per step, with the A/B test ------------------------------------
    sidebar(page, "レポート", "ステップメール")
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()
    shots.take(page, "workflow-5-reports")
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_text("人がシナリオに参加")).to_be_visible()
    funnel = page.locator("table").filter(has_text="2通目 着こなし提案")
    expect(funnel).to_contain_text("1通目 お礼")
    expect(funnel).to_contain_text("3通目 再購入のきっかけ")
    shots.take(page, "workflow-5-report")
    ab = page.locator("table[data-stepmail-ab]")
    expect(ab).to_contain_text("B 短い件名")
    shots.take(ab, "workflow-5-ab-result")
