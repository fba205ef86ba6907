"""An editor who reorders the steps of a sequence in the page explorer so that a later mail would
go out before an earlier one is refused: the list reloads with the reason and the order kept."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .wagtail_ui import explorer_rows, messages

CREATE_SEQUENCE = """
from stepmail_plugin.models import SequenceIndexPage, SequencePage, StepEmailPage
folder = SequenceIndexPage.objects.get(slug="block-gallery")
sequence = SequencePage(title="並べ替えの練習", slug="reorder-practice", trigger="order_placed", live=False)
folder.add_child(instance=sequence)
sequence.save_revision()
for title, days in (("お礼（当日）", 0), ("フォロー（3日後）", 3)):
    step = StepEmailPage(title=title, subject=title, delay_value=days, delay_unit="days", live=False)
    sequence.add_child(instance=step)
    step.save_revision()
print(sequence.pk)
"""


def test_a_reorder_that_breaks_the_send_order_is_refused(admin, store):
    sequence = json.loads(store.run("shell", "-c", CREATE_SEQUENCE).strip().splitlines()[-1])
    admin.goto(f"/cms/pages/{sequence}/")
    rows = explorer_rows(admin)
    expect(rows).to_have_count(2)
    # The keyboard way of Wagtail's drag handles: focus, arrow up, Enter to save the order.
    handle = rows.nth(1).locator("[data-w-orderable-target='handle']")
    handle.focus()
    handle.press("ArrowUp")
    expect(explorer_rows(admin).nth(0)).to_contain_text("フォロー（3日後）")
    with admin.expect_navigation():  # refused: the listing reloads
        handle.press("Enter")
    expect(messages(admin)).to_contain_text("ステップは順番に送信されます")
    expect(messages(admin)).to_contain_text("「お礼（当日）」（すぐに（当日））を「フォロー（3日後）」（3日後）の後ろに置くことはできません")
    rows = explorer_rows(admin)
    expect(rows.nth(0)).to_contain_text("お礼（当日）")
    expect(rows.nth(1)).to_contain_text("フォロー（3日後）")
