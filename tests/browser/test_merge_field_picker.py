"""An editor inserts merge fields with the picker — into the subject at the caret and into a
paragraph from the rich-text toolbar — saves, previews, and the preview shows the customer's
name where the fields were."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from .wagtail_ui import add_block, heading, messages, save_draft, scroll_to, stored_rich_text, type_rich_text

CREATE_SEQUENCE = """
from stepmail_plugin.models import SequenceIndexPage, SequencePage
folder = SequenceIndexPage.objects.get(slug="block-gallery")
sequence = SequencePage(title="差し込み項目の練習", slug="merge-field-practice", trigger="order_placed", live=False)
folder.add_child(instance=sequence)
sequence.save_revision()
print(sequence.pk)
"""


def test_editor_inserts_merge_fields_with_the_picker(admin, store, shots):
    sequence = json.loads(store.run("shell", "-c", CREATE_SEQUENCE).strip().splitlines()[-1])
    admin.goto(f"/cms/pages/add/stepmail/stepemailpage/{sequence}/")
    admin.get_by_role("textbox", name="タイトル*").fill("お礼メール")

    # -- subject: type, put the caret at the start, pick 「名」 --------------------------------------
    subject = admin.get_by_role("textbox", name="件名*")
    subject.fill("様、ありがとうございます")
    subject.press("Home")
    admin.locator("button[data-merge-for='id_subject']").click()
    menu = admin.locator(".stepmail-merge-menu")
    expect(menu.get_by_role("menuitem")).to_have_count(8)
    expect(menu.get_by_role("menuitem").first).to_contain_text("名")
    expect(menu.get_by_role("menuitem").first).to_contain_text("顧客の名")
    menu.get_by_role("menuitem", name=re.compile("^姓")).click()
    expect(subject).to_have_value('{{ last_name|default:"お客様" }}様、ありがとうございます')
    expect(menu).to_be_hidden()

    # -- a paragraph: the toolbar's 「差し込み項目を挿入」 at the caret ---------------------------------
    add_block(admin, "段落")
    type_rich_text(admin, "こんにちは、")
    editor = admin.locator("[data-contentpath='body'] .public-DraftEditor-content").last
    editor.press("End")
    admin.locator(".Draftail-MetaToolbar").get_by_role("button", name="差し込み項目を挿入").click()
    picker = admin.locator(".stepmail-merge-picker--draftail .stepmail-merge-menu")
    expect(picker.get_by_role("menuitem")).to_have_count(8)
    scroll_to(admin, heading(admin, "本文"))
    shots.take(admin, "editor-merge-field-picker")
    picker.get_by_role("menuitem", name=re.compile("^名")).click()
    expect(editor).to_contain_text('こんにちは、{{ first_name|default:"お客様" }}')
    expect(stored_rich_text(editor)).to_have_value(re.compile(re.escape('{{ first_name|default:\\"お客様\\" }}')))

    save_draft(admin)
    expect(messages(admin)).to_contain_text("お礼メール")

    # -- the preview fills the fields in (with the editor's own name: the demo admin, 店長 花子) ---
    admin.locator("header").get_by_role("button", name="操作").click()
    admin.get_by_role("link", name="実データでプレビュー").click()
    expect(admin.locator(".sm-mail-info")).to_contain_text("店長様、ありがとうございます")
    mail = admin.frame_locator("iframe.sm-frame")
    expect(mail.get_by_text("こんにちは、花子")).to_be_visible()


def test_the_picker_is_in_the_rich_text_of_a_review_request_too(admin, store):
    """The rich texts inside blocks (text and picture, coupon, review request, survey) have the
    same toolbar control as a paragraph; what it inserts is saved with the block."""
    sequence = json.loads(store.run(
        "shell", "-c", CREATE_SEQUENCE.replace("merge-field-practice", "merge-field-in-blocks")
    ).strip().splitlines()[-1])
    admin.goto(f"/cms/pages/add/stepmail/stepemailpage/{sequence}/")
    admin.get_by_role("textbox", name="タイトル*").fill("レビューのお願い")
    admin.get_by_role("textbox", name="件名*").fill("使い心地はいかがですか")

    add_block(admin, "レビュー依頼")
    type_rich_text(admin, "お届けから一週間、")
    editor = admin.locator("[data-contentpath='body'] .public-DraftEditor-content").last
    editor.press("End")
    admin.locator(".Draftail-MetaToolbar").last.get_by_role("button", name="差し込み項目を挿入").click()
    picker = admin.locator(".stepmail-merge-picker--draftail .stepmail-merge-menu")
    expect(picker.get_by_role("menuitem")).to_have_count(8)
    picker.get_by_role("menuitem", name=re.compile("^名")).click()
    expect(editor).to_contain_text('お届けから一週間、{{ first_name|default:"お客様" }}')
    expect(stored_rich_text(editor)).to_have_value(re.compile(re.escape('{{ first_name|default:\\"お客様\\" }}')))

    save_draft(admin)
    expect(messages(admin)).to_contain_text("レビューのお願い")
    # The saved draft keeps the tag in the block's text (the edit page shows it again).
    saved = admin.locator("[data-contentpath='body'] .public-DraftEditor-content").last
    expect(saved).to_contain_text('お届けから一週間、{{ first_name|default:"お客様" }}')
