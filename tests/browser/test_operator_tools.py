"""The operator's tools around a running sequence, in the Japanese admin: the timeline on the
sequence's Content tab, "Copy sequence", and enrolling a contact by hand.

The store is shared by the whole session and other tests send mail in it (some with the clock
days ahead), so the timeline is checked by what one more order changes on it, not by totals.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .wagtail_ui import explorer_rows, field, heading, messages, open_tab, scroll_to, sidebar

APPAREL = "購入後フォロー(アパレル)"
STEPS = [
    "1通目 購入のお礼",
    "2通目 もう洋服は着てみましたか?",
    "3通目 ○○に合うボトムはこれです",
    "4通目 この靴と合わせてみても良いですね",
]
BUYER = "timeline.buyer@example.com"
# Not "…(アパレル)…": other tests find the original in the folder's listing by its title.
COPY_TITLE = "秋冬の購入後フォロー"
WELCOME = "新規会員ウェルカムシリーズ"
HAND_ENROLLED = "kenta.suzuki@example.com"


def timeline_step(page: Page, position: int):
    """The card of the ``position``-th step (from 1) in the sequence's timeline panel."""
    return page.locator(f"[data-stepmail-timeline] [data-stepmail-timeline-step='{position}']")


def number(card, name: str) -> int:
    """A figure of a timeline card as shown ("送信済み 3" → 3)."""
    return int(card.locator(f"[data-{name}]").inner_text().strip())


def to_top(page: Page) -> None:
    """Back to the top of the form, nothing focused, for a screenshot with the page's header.
    (Filling a field scrolls the admin's content area, ``main``, not the window.)"""
    page.evaluate("""() => {
        document.activeElement && document.activeElement.blur();
        document.querySelector("main").scrollTo({top: 0, behavior: "instant"});
    }""")


def open_timeline(page: Page, sequence_id: int) -> None:
    page.goto(f"/cms/pages/{sequence_id}/edit/")
    open_tab(page, "コンテンツ")
    expect(heading(page, "タイムライン")).to_be_visible()


def test_timeline_copy_and_enroll_by_hand(admin, store, shots):
    page = admin
    apparel = store.ids["apparel"]

    # -- the timeline: one more order, sent its first mail, shows on the sequence's Content tab ----
    store.dispatch()  # whatever is due already (the set-up's order) goes out first
    open_timeline(page, apparel)
    before = [(number(timeline_step(page, i), "sent"), number(timeline_step(page, i), "waiting"))
              for i in (1, 2)]
    store.run("shell", "-c", f"from demo.orders import place_demo_order; place_demo_order({BUYER!r})")
    store.dispatch()
    assert any(mail.subject.startswith("【こもれび洋品店】ご購入ありがとうございます") for mail in store.mails(to=BUYER))

    open_timeline(page, apparel)
    cards = page.locator("[data-stepmail-timeline] [data-stepmail-timeline-step]")
    expect(cards).to_have_count(len(STEPS))
    for i, title in enumerate(STEPS, start=1):
        expect(timeline_step(page, i)).to_contain_text(f"{i}. {title}")
        expect(timeline_step(page, i).locator("[data-state]").first).to_have_text("公開中")
    day0, day3 = timeline_step(page, 1), timeline_step(page, 2)
    expect(day0.locator("[data-when]")).to_have_text("すぐに（当日）")
    expect(day3.locator("[data-when]")).to_have_text("3日後")
    # Her first mail is counted as sent on day 0; her next one waits on day 3.
    expect(day0.locator("[data-sent]")).to_have_text(str(before[0][0] + 1))
    expect(day3.locator("[data-waiting]")).to_have_text(str(before[1][1] + 1))
    expect(day3.locator("[data-sent]")).to_have_text(str(before[1][0]))
    expect(page.locator("[data-stepmail-timeline-people]")).to_contain_text("人がシナリオに参加中")
    scroll_to(page, heading(page, "タイムライン"))
    shots.take(page, "operator-timeline")

    # -- "Copy sequence" from the page header: a new title, every step, as drafts ---------------------
    page.locator("header").get_by_role("button", name="操作").click()
    page.get_by_role("link", name="シナリオをコピー").click()
    # The header (Wagtail's breadcrumb trail) says where the editor is.
    trail = page.get_by_role("navigation", name="パンくず")
    expect(trail).to_contain_text("シナリオをコピー")
    expect(trail).to_contain_text(APPAREL)
    listed = page.locator("[data-stepmail-copy-steps] li")
    expect(listed).to_have_count(len(STEPS))
    expect(listed.first).to_contain_text("すぐに（当日）")  # as the timeline says it
    expect(field(page, "コピーのタイトル")).to_have_value(f"{APPAREL}（コピー）")
    field(page, "コピーのタイトル").fill(COPY_TITLE)
    to_top(page)
    shots.take(page, "operator-copy-sequence")
    page.get_by_role("button", name="下書きとしてコピー").click()
    expect(messages(page)).to_contain_text(f"「{COPY_TITLE}」を{len(STEPS)}件のステップとともに下書きとしてコピーしました")
    rows = explorer_rows(page)
    expect(rows).to_have_count(len(STEPS))
    for i, title in enumerate(STEPS):
        expect(rows.nth(i)).to_contain_text(title)
        expect(rows.nth(i)).to_contain_text("下書き")
    # The copy itself is a draft, next to the original, and nobody is in it.
    page.get_by_role("button", name="パンくずリストの表示を切り替え").click()
    page.locator("header").get_by_role("link", name="ステップメール", exact=True).click()
    copy_row = explorer_rows(page).filter(has_text=COPY_TITLE)
    expect(copy_row).to_contain_text("下書き")
    original_row = explorer_rows(page).filter(has=page.get_by_role("link", name=APPAREL, exact=True))
    expect(original_row).to_contain_text("公開")
    copy_row.get_by_role("link", name=COPY_TITLE).first.click()
    expect(page.get_by_role("heading", name=COPY_TITLE)).to_be_visible()
    copy_id = int(re.search(r"/pages/(\d+)/", page.url).group(1))
    open_timeline(page, copy_id)
    expect(page.locator("[data-stepmail-timeline-people]")).to_contain_text("現在0人がシナリオに参加中、0人が完了または離脱")
    for i in range(1, len(STEPS) + 1):
        expect(timeline_step(page, i).locator("[data-state]").first).to_have_text("未公開")
        expect(timeline_step(page, i).locator("[data-sent]")).to_have_text("0")
        expect(timeline_step(page, i).locator("[data-waiting]")).to_have_text("0")

    # -- enroll a contact by hand, from the Enrollments section ---------------------------------------
    page.goto("/cms/")
    sidebar(page, "ステップメール", "シナリオ参加")
    page.get_by_role("link", name="連絡先を手動でシナリオに参加させる").click()
    # Only live sequences are offered: the draft copy is not.
    choices = field(page, "シナリオ").locator("option")
    expect(choices.filter(has_text=WELCOME)).to_have_count(1)
    expect(choices.filter(has_text=COPY_TITLE)).to_have_count(0)
    field(page, "シナリオ").select_option(label=WELCOME)
    field(page, "メールアドレス").fill(HAND_ENROLLED)
    field(page, "姓").fill("鈴木")
    field(page, "名").fill("健太")
    field(page, "メールの受信に同意済み").check()
    expect(field(page, "メールの受信に同意済み")).to_be_checked()
    to_top(page)
    shots.take(page, "operator-enroll-by-hand")
    page.get_by_role("button", name="シナリオに参加させる").click()
    expect(messages(page)).to_contain_text(
        f"{HAND_ENROLLED} を「{WELCOME}」に参加させました。最初のメールは送信予定時刻に送信されます。"
    )
    sidebar(page, "ステップメール", "シナリオ参加")
    page.get_by_role("textbox", name="検索").last.fill(HAND_ENROLLED)
    page.keyboard.press("Enter")
    row = page.locator("tbody tr").filter(has_text=HAND_ENROLLED)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(WELCOME)
