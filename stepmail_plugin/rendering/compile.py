"""Compile a step page once per batch, then render it per recipient with plain string joins.

Compiling renders every block that is the same for everyone, lays it out, inlines the CSS and
splits the result into literal text, merge fields and slots for personalised blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import css_inline
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from ..blocks.base import RenderContext
from .merge import SYSTEM_FIELDS, MergeTemplate

_SLOT = re.compile(r"<!--stepmail-slot:(\d+)-->|\x1eslot:(\d+)\x1e")
_RELATIVE_URL = re.compile(r'((?:href|src)=")(/(?!/))')

#: Distinct renderings of personalised blocks kept per compiled step.
FRAGMENT_CACHE_SIZE = 2000

_inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def _one_line(text: str) -> str:
    return " ".join(text.split()) if any(c in text for c in "\r\n\x0b\x0c\x85\u2028\u2029") else text


def inline_css(html: str) -> str:
    return _inliner.inline(html)


def inline_fragment(html: str, css: str) -> str:
    return _inliner.inline_fragment(html, css)


class SlotTemplate:
    """Merge-field text with numbered slots where personalised blocks go."""

    def __init__(self, text: str, *, html: bool):
        self.chunks: list[MergeTemplate] = []
        self.slots: list[int] = []
        pos = 0
        for match in _SLOT.finditer(text):
            self.chunks.append(MergeTemplate(text[pos : match.start()], html=html))
            self.slots.append(int(match.group(1) or match.group(2)))
            pos = match.end()
        self.chunks.append(MergeTemplate(text[pos:], html=html))

    def render(self, values: dict[str, str], slot_content: dict[int, str] | None = None) -> str:
        escaped: dict[str, str] = {}  # each value escaped once for all chunks
        if not self.slots:
            return self.chunks[0].render(values, escaped)
        out = []
        for chunk, slot in zip(self.chunks, self.slots + [None]):
            out.append(chunk.render(values, escaped))
            if slot is not None:
                out.append((slot_content or {}).get(slot, ""))
        return "".join(out)


@dataclass
class RenderedMail:
    subject: str
    preheader: str
    html: str
    text: str


class CompiledStep:
    """A step's live content ready to render for many recipients."""

    def __init__(self, step: Any, ctx: RenderContext, *, is_marketing: bool = True, links: Any = None):
        self.step = step
        self.ctx = ctx
        self.personalized: list[tuple[Any, Any]] = []
        with translation.override(ctx.language):
            html_blocks: list[str] = []
            text_blocks: list[str] = []
            for child in step.body:
                block = child.block
                if not hasattr(block, "render_email"):
                    continue
                if block.personalized:
                    index = len(self.personalized)
                    self.personalized.append((block, child.value))
                    html_blocks.append(f"<!--stepmail-slot:{index}-->")
                    text_blocks.append(f"\x1eslot:{index}\x1e")
                else:
                    html_blocks.append(block.render_email(child.value, ctx))
                    text_blocks.append(block.render_text(child.value, ctx))
            layout = {
                "brand": ctx.brand,
                "language": ctx.language,
                "body": mark_safe("\n".join(html_blocks)),
                "text_body": mark_safe("\n\n".join(t for t in text_blocks if t)),
                "is_marketing": is_marketing,
                # Per-recipient values stay merge fields until rendering.
                "merge": {name: "{{ %s }}" % name for name in SYSTEM_FIELDS},
            }
            html = render_to_string("stepmail/mail/layout.html", layout)
            text = render_to_string("stepmail/mail/layout.txt", layout)
        html = _RELATIVE_URL.sub(lambda m: m.group(1) + ctx.base_url.rstrip("/") + m.group(2), inline_css(html))
        if links is not None:
            # UTM parameters and click tracking, once per step (tracking/links.py).
            html, text = links(html, text)
        self.subject = MergeTemplate(step.subject, html=False)
        self.preheader = MergeTemplate(step.preheader or "", html=False)
        self.html = SlotTemplate(html, html=True)
        # Not str.strip(): it would eat the \x1e of a slot marker at either end.
        self.text = SlotTemplate(text.strip(" \t\r\n") + "\n", html=False)
        # Personalised blocks are inlined with the layout's own stylesheet.
        self.css = render_to_string("stepmail/mail/styles.css", {"brand": ctx.brand})
        # Personalised blocks whose output repeats between recipients (the same products, an order
        # with the same lines): rendered and inlined once per distinct content, with placeholders
        # where each recipient's own values go (see EmailBlockMixin.fragment).
        self.fragments: dict[tuple, tuple[str, str]] = {}

    def render(self, values: dict[str, str], recipient_ctx: RenderContext | None = None) -> RenderedMail:
        """The mail for one recipient. ``values`` are plain strings (see rendering.context)."""
        values = dict(values)
        # Header text: a line break from a customer's value must not start a new header.
        values["subject"] = _one_line(self.subject.render(values))
        values["preheader"] = _one_line(self.preheader.render(values))
        html_slots: dict[int, str] = {}
        text_slots: dict[int, str] = {}
        if self.personalized:
            ctx = recipient_ctx or self.ctx
            with translation.override(ctx.language):
                for index, (block, value) in enumerate(self.personalized):
                    html_slots[index], text_slots[index] = self._personalized(index, block, value, ctx)
        return RenderedMail(
            subject=values["subject"],
            preheader=values["preheader"],
            html=self.html.render(values, html_slots),
            text=self.text.render(values, text_slots),
        )

    def _personalized(self, index: int, block: Any, value: Any, ctx: RenderContext) -> tuple[str, str]:
        """(HTML, text) of one personalised block for one recipient."""
        fragment = getattr(block, "fragment", None)
        found = fragment(value, ctx) if fragment is not None else None
        if found is None:
            return inline_fragment(block.render_email(value, ctx), self.css), block.render_text(value, ctx)
        key, fills = found
        marker = (index, key)
        cached = self.fragments.get(marker)
        if cached is None:
            html, text = block.render_fragment(value, ctx)
            if len(self.fragments) >= FRAGMENT_CACHE_SIZE:
                self.fragments.clear()  # many distinct orders: start again rather than grow
            cached = self.fragments[marker] = (inline_fragment(html, self.css) if html else "", text)
        html, text = cached
        for placeholder, (html_value, text_value) in fills.items():
            html = html.replace(placeholder, html_value)
            text = text.replace(placeholder, text_value)
        return html, text
