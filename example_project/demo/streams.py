"""Small builders for the step-mail body StreamField, in Wagtail's JSON form.

Block names and value shapes are those of ``stepmail_plugin.blocks.StepBodyBlock``: ``heading``
(text), ``paragraph`` (rich-text HTML), ``button`` (struct: text, page, url), ``divider``.
"""

from __future__ import annotations

from django.utils.html import escape


def heading(text: str) -> dict:
    return {"type": "heading", "value": text}


def paragraph(*html: str) -> dict:
    """One rich-text block; pass ``p(...)``/``ul(...)`` fragments."""
    return {"type": "paragraph", "value": "".join(html)}


def button(text: str, url: str) -> dict:
    return {"type": "button", "value": {"text": text, "page": None, "url": url}}


def divider() -> dict:
    return {"type": "divider", "value": None}


# -- rich-text fragments (the HTML subset Wagtail's editor stores) ---------------------------------

def p(*parts: str) -> str:
    return "<p>" + "".join(parts) + "</p>"


def ul(*items: str) -> str:
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def b(text: str) -> str:
    return f"<b>{text}</b>"


def a(text: str, url: str) -> str:
    return f'<a href="{escape(url)}">{text}</a>'
