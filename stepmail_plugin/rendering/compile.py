"""Compile a step page once per batch, then render it per recipient with plain string joins.

Compiling renders every block that is the same for everyone, lays it out, inlines the CSS and
splits the result into literal text, merge fields and slots for personalised blocks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape  # Django's escape() is this behind a lazy-string wrapper
from operator import itemgetter
from typing import Any

import css_inline
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from ..blocks.base import RenderContext
from .merge import SYSTEM_FIELDS, Field, MergeTemplate

_SLOT = re.compile(r"<!--stepmail-slot:(\d+)-->|\x1eslot:(\d+)\x1e")
_RELATIVE_URL = re.compile(r'((?:href|src)=")(/(?!/))')

#: Distinct renderings of personalised blocks kept per compiled step.
FRAGMENT_CACHE_SIZE = 2000

_inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


_LINE_BREAK = re.compile("[\r\n\x0b\x0c\x85\u2028\u2029]")


def _one_line(text: str) -> str:
    return " ".join(text.split()) if _LINE_BREAK.search(text) else text


def inline_css(html: str) -> str:
    return _inliner.inline(html)


def inline_fragment(html: str, css: str) -> str:
    return _inliner.inline_fragment(html, css)


class _Fields:
    """The merge fields and literal text of one compiled step, as keys of one dict.

    Compiled text is a sequence of keys: literal chunks (ints, their text in :attr:`literals`),
    merge-field holes (one per name, default and HTML or not) and slots (personalised blocks).
    Rendering a recipient's mail copies :attr:`literals`, puts each value in once (escaped once
    for all its HTML holes) and joins ``itemgetter(*keys)`` of the dict: no parsing, and the
    joining done in C. Values are inserted, never parsed again.
    """

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str | None, bool], str] = {}
        self.literals: dict[Any, str] = {}
        # Per name: holes filled with the plain value, holes with the escaped value, and every
        # hole's text when the value is empty (its default, or nothing).
        self.by_name: dict[str, tuple[list[str], list[str], list[tuple[str, str]]]] = {}

    def key(self, field: Field, html: bool) -> str:
        marker = (field.name, field.default, html)
        key = self.keys.get(marker)
        if key is None:
            key = self.keys[marker] = f"f{len(self.keys)}"
            plain, escaped, empty = self.by_name.setdefault(field.name, ([], [], []))
            (escaped if html else plain).append(key)
            empty.append((key, field.default or ""))
        return key

    def literal(self, text: str) -> int:
        key = len(self.literals)
        self.literals[key] = text
        return key

    def parts(self, template: MergeTemplate) -> list[Any]:
        """The keys of ``template``'s literal text and holes, in order."""
        return [self.literal(part) if part.__class__ is str else self.key(part, template.html)
                for part in template.parts]

    def plan(self) -> tuple:
        return tuple((name, tuple(plain), tuple(escaped), tuple(empty))
                     for name, (plain, escaped, empty) in self.by_name.items())


def _joiner(keys: list[Any]) -> Callable[[Mapping[Any, str]], str]:
    """A function joining the texts under ``keys`` of a dict, in order."""
    if not keys:
        return lambda filled: ""
    if len(keys) == 1:
        key = keys[0]
        return lambda filled: filled[key]
    getter = itemgetter(*keys)
    return lambda filled: "".join(getter(filled))


def _fill(plan: tuple, values: Mapping[str, Any], out: dict[Any, str]) -> dict[Any, str]:
    """``out`` with every hole of ``plan`` filled from ``values`` (see :class:`_Fields`)."""
    get = values.get
    for name, plain, escaped, empty in plan:
        value = get(name)
        if value is None or value == "":
            for key, text in empty:
                out[key] = text
            continue
        if value.__class__ is not str:
            value = str(value)
        for key in plain:
            out[key] = value
        if escaped:
            # Most values have nothing to escape: looking is cheaper than escape()'s five passes.
            if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
                value = escape(value)
            for key in escaped:
                out[key] = value
    return out


class SlotTemplate:
    """Merge-field text with numbered slots where personalised blocks go, compiled into the keys
    of its literal text, merge fields and slots (see :class:`_Fields`)."""

    def __init__(self, text: str, *, html: bool, fields: _Fields | None = None, prefix: str = "s"):
        own = fields is None
        self.fields = _Fields() if fields is None else fields
        self.slots: list[int] = []
        self.slot_keys: list[str] = []
        keys: list[Any] = []
        pos = 0
        for match in _SLOT.finditer(text):
            # Each chunk is parsed on its own, as before: merge syntax never spans a slot.
            keys += self.fields.parts(MergeTemplate(text[pos : match.start()], html=html))
            slot = int(match.group(1) or match.group(2))
            self.slots.append(slot)
            self.slot_keys.append(f"{prefix}{slot}")
            keys.append(f"{prefix}{slot}")
            pos = match.end()
        keys += self.fields.parts(MergeTemplate(text[pos:], html=html))
        self.join = _joiner(keys)
        self._plan = self.fields.plan() if own else None

    def render(self, values: Mapping[str, Any], slot_content: dict[int, str] | None = None) -> str:
        plan = self._plan if self._plan is not None else self.fields.plan()
        filled = _fill(plan, values, dict(self.fields.literals))
        for slot, key in zip(self.slots, self.slot_keys):
            filled[key] = (slot_content or {}).get(slot, "")
        return self.join(filled)


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
        # Subject and preheader first (the layout shows them), then the HTML and the text, each
        # one format_map template; a field used in several places is escaped once.
        head = _Fields()
        self.subject = MergeTemplate(step.subject, html=False)
        self.preheader = MergeTemplate(step.preheader or "", html=False)
        self._subject = _joiner(head.parts(self.subject))
        self._preheader = _joiner(head.parts(self.preheader))
        self._head_plan = head.plan()
        self._head_literals = head.literals
        body = _Fields()
        self.html = SlotTemplate(html, html=True, fields=body, prefix="h")
        # Not str.strip(): it would eat the \x1e of a slot marker at either end.
        self.text = SlotTemplate(text.strip(" \t\r\n") + "\n", html=False, fields=body, prefix="t")
        self._body_plan = body.plan()
        # Every slot empty unless its block fills it (a marker typed into editor text, say).
        self._blank = {**body.literals, **{key: "" for key in (*self.html.slot_keys, *self.text.slot_keys)}}
        self._slots = tuple((index, block, value, f"h{index}", f"t{index}", getattr(block, "fragment", None))
                            for index, (block, value) in enumerate(self.personalized))
        # Personalised blocks are inlined with the layout's own stylesheet.
        self.css = render_to_string("stepmail/mail/styles.css", {"brand": ctx.brand})
        # Personalised blocks whose output repeats between recipients (the same products, an order
        # with the same lines): rendered and inlined once per distinct content, with placeholders
        # where each recipient's own values go (see EmailBlockMixin.fragment).
        self.fragments: dict[tuple, tuple[str, str]] = {}

    def render(self, values: dict[str, str], recipient_ctx: RenderContext | None = None, *,
               language_active: bool = False) -> RenderedMail:
        """The mail for one recipient. ``values`` are plain strings (see rendering.context).
        ``language_active``: the caller has made the context's language active."""
        head = _fill(self._head_plan, values, dict(self._head_literals))
        # Header text: a line break from a customer's value must not start a new header.
        subject = _one_line(self._subject(head))
        preheader = _one_line(self._preheader(head))
        filled = _fill(self._body_plan, {**values, "subject": subject, "preheader": preheader}, dict(self._blank))
        if self._slots:
            ctx = recipient_ctx or self.ctx
            if language_active or translation.get_language() == ctx.language:  # the usual case: no switch
                for index, block, value, html_key, text_key, fragment in self._slots:
                    filled[html_key], filled[text_key] = self._personalized(index, block, value, ctx, fragment)
            else:
                with translation.override(ctx.language):
                    for index, block, value, html_key, text_key, fragment in self._slots:
                        filled[html_key], filled[text_key] = self._personalized(index, block, value, ctx, fragment)
        return RenderedMail(
            subject=subject,
            preheader=preheader,
            html=self.html.join(filled),
            text=self.text.join(filled),
        )

    def _personalized(self, index: int, block: Any, value: Any, ctx: RenderContext,
                      fragment: Callable | None) -> tuple[str, str]:
        """(HTML, text) of one personalised block for one recipient (``fragment``: the block's)."""
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
            cached = self.fragments[marker] = _Fragment(inline_fragment(html, self.css) if html else "", text,
                                                        tuple(fills))
        return cached.fill(fills)


class _Fragment:
    """A shared rendering of a personalised block, split at its placeholders once, so each mail's
    values are put in with one join (see :meth:`EmailBlockMixin.fragment`)."""

    __slots__ = ("html", "text", "placeholders", "_html", "_text", "_html_base", "_text_base")

    def __init__(self, html: str, text: str, placeholders: tuple[str, ...]):
        self.html = html
        self.text = text
        self.placeholders = frozenset(placeholders)
        # Longest first: one placeholder's text never hides another's.
        ordered = sorted(placeholders, key=len, reverse=True)
        pattern = re.compile("(%s)" % "|".join(map(re.escape, ordered))) if placeholders else None
        self._html, self._html_base = self._split(html, pattern)
        self._text, self._text_base = self._split(text, pattern)

    @staticmethod
    def _split(text: str, pattern: re.Pattern | None) -> tuple[Callable, dict[Any, str]]:
        if pattern is None:
            return (lambda filled: text), {}
        keys: list[Any] = []
        base: dict[Any, str] = {}
        # re.split with a group: literal text, placeholder, literal text, …
        for n, part in enumerate(pattern.split(text)):
            if n % 2:
                keys.append(part)
                base[part] = part  # a placeholder without a value stays as it is
            else:
                keys.append(n)
                base[n] = part
        return _joiner(keys), base

    def fill(self, fills: dict[str, tuple[str, str]]) -> tuple[str, str]:
        """(HTML, text) with each placeholder replaced by its value."""
        if not fills:
            return self.html, self.text
        if not self.placeholders.issuperset(fills):  # a value this rendering was not split for
            html, text = self.html, self.text
            for placeholder, (html_value, text_value) in fills.items():
                html = html.replace(placeholder, html_value)
                text = text.replace(placeholder, text_value)
            return html, text
        html, text = dict(self._html_base), dict(self._text_base)
        for placeholder, (html_value, text_value) in fills.items():
            html[placeholder] = html_value
            text[placeholder] = text_value
        return self._html(html), self._text(text)
