"""An English-speaking editor in the same (Japanese) shop: their account's language preference
gives them the admin, the ready-made sequences and the previews in English."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import EDITOR_EN, log_in
from .wagtail_ui import explorer_rows, messages, sidebar


def test_an_editor_who_prefers_english_gets_the_admin_and_mails_in_english(page, store, shots):
    log_in(page, *EDITOR_EN)  # a Japanese browser: the login page is Japanese
    page.goto("/cms/account/")
    page.locator("#id_name_email-first_name").fill("Emma")
    page.locator("#id_name_email-last_name").fill("Brown")
    page.get_by_label("好みの言語").select_option(label="English")
    page.get_by_role("button", name="保存").click()
    expect(messages(page)).to_be_visible()

    # The admin follows the preference, over the browser's Accept-Language: ja.
    page.goto("/cms/")
    expect(page.get_by_role("link", name="Step mail templates")).to_be_visible()
    expect(page.get_by_role("heading", name="Step mail", exact=True)).to_be_visible()
    sidebar(page, "Step mail templates")
    expect(page.get_by_text("Scenarios from the step-mail guides")).to_be_visible()
    card = page.locator("section").filter(has=page.get_by_role("heading", name="Welcome series"))
    card.get_by_label("Language").select_option(label="English")
    card.get_by_label("Coupon template").select_option(label="お礼クーポン10%")
    shots.take(page, "english-templates")
    card.get_by_role("button", name="Create this sequence").click()
    expect(messages(page)).to_contain_text("was created as a draft with 3 steps")
    rows = explorer_rows(page)
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Welcome to")

    # The preview of the first step: the mail in English, with the editor's own name.
    rows.nth(0).get_by_role("link").first.click()
    page.locator("header").get_by_role("button", name="Actions").click()
    page.get_by_role("link", name="Preview with real data").click()
    info = page.locator(".sm-mail-info")
    expect(info).to_contain_text("Subject")
    expect(info).to_contain_text("Welcome to こもれび洋品店!")
    mail = page.frame_locator("iframe.sm-frame")
    expect(mail.get_by_role("link", name="View this email in your browser")).to_be_visible()
    expect(mail.get_by_role("link", name="Unsubscribe from these emails")).to_be_visible()
    expect(mail.get_by_text("Emma").first).to_be_visible()
    shots.take(page, "english-preview")
