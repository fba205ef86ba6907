"""What an editor does in the Wagtail admin, as browser steps: locators by the labels an editor
reads (Japanese admin unless said otherwise), so the tests read like the editor guide."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

VIEWPORT_MIDDLE = (640, 400)


def add_block(page: Page, label: str) -> None:
    """Append a block to the step's body through the StreamField's "+" menu."""
    # 「ブロックを挿入」 in the Japanese admin (our catalog supplies what Wagtail's lacks).
    page.locator(
        "[data-contentpath='body'] :is(button[title='ブロックを挿入'], button[title='Insert a block'])"
    ).last.click()
    page.get_by_role("option", name=label, exact=True).click()


def type_rich_text(page: Page, text: str) -> None:
    """Type into the last rich-text (Draftail) editor of the body."""
    editor = page.locator("[data-contentpath='body'] .public-DraftEditor-content").last
    editor.click()
    editor.type(text)
    # Draftail copies its content into the form's hidden input a moment after typing; an editor
    # who saved faster than that would save the block empty, so wait until it is there.
    expect(stored_rich_text(editor)).to_have_value(re.compile(re.escape(text[:6])))


def stored_rich_text(editor: Locator) -> Locator:
    """The hidden form input a Draftail ``editor`` copies its content into (what saving sends)."""
    return editor.locator("xpath=ancestor::div[contains(@class, 'w-field__input')][1]//input[@type='hidden']").first


def choose(page: Page, button: str, item: str) -> None:
    """Open a chooser (page, snippet, product…) by its button and pick ``item`` in the modal."""
    page.get_by_role("button", name=button).last.click()
    modal = page.locator(".modal-dialog")
    modal.get_by_role("link", name=item, exact=True).first.click()
    expect(modal).to_be_hidden()


def save_draft(page: Page, label: str = "下書きを保存") -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=label).click()
    expect(messages(page)).to_be_visible()


def more_actions(page: Page, toggle: str = "他のアクション") -> None:
    """Open the menu next to "Save draft" (Publish, Test send…)."""
    page.locator("footer").get_by_role("button", name=toggle).click()


def publish(page: Page, toggle: str = "他のアクション", label: str = "公開") -> None:
    """Publish the page being edited, from the editor's action menu (and wait for the answer)."""
    more_actions(page, toggle)
    with page.expect_navigation():
        page.locator("footer").get_by_role("button", name=label, exact=True).click()
    expect(messages(page)).to_be_visible()


def messages(page: Page):
    """Wagtail's flash messages (success, warnings, errors) at the top of the page."""
    return page.locator(".messages")


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def expand(page: Page, heading: str) -> None:
    """Open a collapsed panel of the page editor (e.g. the A/B test panel)."""
    toggle = page.locator(".w-panel__toggle").filter(has_text=heading).first
    if toggle.get_attribute("aria-expanded") == "false":
        toggle.click()


def explorer_rows(page: Page):
    """The rows of the page explorer's listing (one per child page)."""
    return page.locator("tbody tr").filter(has=page.locator("[data-listing-page-title]"))


def sidebar(page: Page, menu: str, item: str | None = None) -> None:
    """Follow the sidebar: a top-level link, or an item of a submenu (e.g. レポート → ステップメール)."""
    if item is None:
        page.locator("#wagtail-sidebar, aside, nav").get_by_role("link", name=menu, exact=True).first.click()
        return
    page.get_by_role("button", name=menu, exact=True).click()
    page.get_by_role("list", name=menu).get_by_role("link", name=item, exact=True).click()


def scroll_to(page: Page, locator, margin: int = 70) -> None:
    """Scroll (vertically, with the mouse wheel) until ``locator`` is near the top of the window,
    for a screenshot, with nothing focused. (``scrollIntoView`` also scrolls Wagtail's editor
    sideways.)"""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    target = locator.first
    for _ in range(10):
        box = target.bounding_box()
        if box is None or abs(box["y"] - margin) < 8:
            break
        page.mouse.move(VIEWPORT_MIDDLE[0], VIEWPORT_MIDDLE[1])
        page.mouse.wheel(0, box["y"] - margin)
        page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => r(true)))")


def heading(page: Page, text: str):
    """A panel heading of the page editor (not its namesake in the minimap)."""
    return page.locator("[data-panel-heading-text]").filter(has_text=re.compile("^" + re.escape(text) + "$"))


def field(page: Page, label: str):
    """The form control labelled ``label`` (a required field's label ends with "*")."""
    controls = page.locator("input, select, textarea")
    return controls.and_(
        page.get_by_label(label, exact=True).or_(page.get_by_label(label + "*", exact=True))
    ).first
