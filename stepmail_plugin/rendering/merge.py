"""Merge fields: ``{{ first_name }}`` and ``{{ first_name|default:"お客様" }}``.

Editor text is never given to a template engine. It is split into literal text and merge fields
from a fixed allow-list, and values are substituted in one pass, so editor text cannot reach
model attributes, settings, template tags or filters, and a customer's value is never re-parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from html import escape  # Django's escape() is this behind a lazy-string wrapper
from django.utils.translation import gettext_lazy as _

#: Names an editor may use, with what they mean (shown in the editor's help and docs).
EDITOR_FIELDS: dict[str, object] = {
    "first_name": _("Customer's first name"),
    "last_name": _("Customer's last name"),
    "full_name": _("Customer's full name"),
    "email": _("Customer's email address"),
    "order_number": _("Number of the order that started the sequence"),
    "order_total": _("Total of that order, with its currency"),
    "order_date": _("Date of that order"),
    "shop_name": _("Name of the shop"),
}

#: Names only our own layout uses; editors may use them too (they are the recipient's own links).
#: ``track_url`` and ``open_url`` carry a mail's signed tracking token (see tracking/links.py).
SYSTEM_FIELDS = ("unsubscribe_url", "web_version_url", "preheader", "subject", "track_url", "open_url")

ALL_FIELDS = frozenset(EDITOR_FIELDS) | frozenset(SYSTEM_FIELDS)

_TOKEN = re.compile(r"\{\{(.*?)\}\}", re.S)
_QUOTE = r"(?:\"|&quot;|&#34;|'|&#x27;|&#39;|“|”|「|」)"
_FIELD = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?:\|\s*default\s*:\s*" + _QUOTE + r"(?P<default>.*?)" + _QUOTE + r"\s*)?$",
    re.S,
)
_TAG = re.compile(r"\{%|%\}|\{#")


@dataclass(frozen=True)
class Field:
    name: str
    default: str | None


class MergeSyntaxError(ValueError):
    """Editor text holds something that is not an allowed merge field."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _parse(text: str, allowed: Iterable[str]) -> tuple[list[str | Field], list[str]]:
    allowed = frozenset(allowed)
    parts: list[str | Field] = []
    errors: list[str] = []
    if _TAG.search(text):
        errors.append(str(_("Template tags such as {% … %} are not allowed; use merge fields.")))
    pos = 0
    for match in _TOKEN.finditer(text):
        parts.append(text[pos : match.start()])
        pos = match.end()
        inner = match.group(1)
        field = _FIELD.match(inner)
        if not field:
            errors.append(
                str(_("“%(token)s” is not a merge field. Write {{ name }} or {{ name|default:\"…\" }}."))
                % {"token": match.group(0)}
            )
            continue
        name = field.group("name")
        if name not in allowed:
            errors.append(
                str(_("Unknown merge field “%(name)s”. Allowed: %(allowed)s."))
                % {"name": name, "allowed": ", ".join(sorted(EDITOR_FIELDS))}
            )
            continue
        parts.append(Field(name, field.group("default")))
    parts.append(text[pos:])
    return parts, errors


def validate_merge_text(text: str, allowed: Iterable[str] = ALL_FIELDS) -> None:
    """Raise ``ValidationError`` listing every problem with the merge fields in ``text``."""
    _parts, errors = _parse(text or "", allowed)
    if errors:
        raise ValidationError(errors)


def merge_field_errors(texts: Mapping[str, str | None]) -> dict[str, list[str]]:
    """The problems with the merge fields of each named text (a form field, say), for the
    texts that have any: what a model's or a block's ``clean`` reports per field."""
    errors = {}
    for name, text in texts.items():
        _parts, found = _parse(text or "", ALL_FIELDS)
        if found:
            errors[name] = found
    return errors


class MergeTemplate:
    """Text compiled once, rendered many times with plain values.

    ``html=True`` escapes values for HTML; defaults keep the form they were written in (in HTML
    text they are already HTML).
    """

    __slots__ = ("parts", "html", "names")

    def __init__(self, text: str, *, html: bool, allowed: Iterable[str] = ALL_FIELDS):
        parts, errors = _parse(text or "", allowed)
        if errors:
            raise MergeSyntaxError(errors)
        # Merge adjacent literals so rendering is a tight join.
        merged: list[str | Field] = []
        for part in parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif part != "":
                merged.append(part)
        self.parts = tuple(merged)
        self.html = html
        self.names = frozenset(p.name for p in merged if isinstance(p, Field))

    def render(self, values: Mapping[str, object], escaped: dict[str, str] | None = None) -> str:
        """The text with ``values`` filled in. ``escaped`` is a memo of HTML-escaped values that
        callers rendering several templates for one recipient may share."""
        out = []
        append = out.append
        if escaped is None:
            escaped = {}
        for part in self.parts:
            if part.__class__ is str:
                append(part)
                continue
            name = part.name
            value = values.get(name)
            if value is None or value == "":
                if part.default is not None:
                    append(part.default)
                continue
            if not self.html:
                append(str(value))
                continue
            text = escaped.get(name)
            if text is None:
                text = escaped[name] = escape(str(value))
            append(text)
        return "".join(out)
