"""What every email block can do: render email-safe HTML and a plain-text form."""

from __future__ import annotations

import secrets
from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string

from ..rendering.batch import key_from_context
from ..rendering.merge import MergeTemplate


@dataclass
class RenderContext:
    """What blocks may read while rendering. Plain values only: never a model to walk."""

    base_url: str
    language: str
    brand: dict[str, Any] = field(default_factory=dict)
    #: Per-recipient values; empty while a step is compiled for a whole batch.
    recipient: dict[str, Any] = field(default_factory=dict)
    #: Objects a personalised block may use (the order, the basket), set per recipient:
    #: "trigger", "enrollment", "contact", "delivery", and "batch" (the
    #: :class:`~stepmail_plugin.rendering.batch.PreparedBatch` its data was prepared in).
    objects: dict[str, Any] = field(default_factory=dict)

    def absolute(self, url: str) -> str:
        if not url:
            return ""
        if url.startswith("//"):
            return "https:" + url
        if url.startswith("/"):
            return self.base_url.rstrip("/") + url
        return url


#: Placeholders for per-recipient values in a personalised block rendered once for many
#: recipients (see :meth:`EmailBlockMixin.fragment`). Random per process, so no shop data or editor
#: text can contain one by chance or on purpose.
_TEMPLATES = (Path(__file__).resolve().parent.parent / "templates").resolve()
_NONCE = secrets.token_hex(8).upper()
PLACEHOLDERS = "_stepmail_placeholders"  # key in RenderContext.objects while rendering a fragment


def rich_text_merge_errors(value: Any, name: str = "text") -> dict:
    """``{name: ValidationError}`` when the rich text field ``name`` of a struct value uses an
    unknown merge field (or bad merge syntax), else ``{}`` — for ``StructBlock.clean``."""
    from django.core.exceptions import ValidationError

    from ..rendering.merge import validate_merge_text

    if not value.get(name):
        return {}
    try:
        validate_merge_text(value[name].source)
    except ValidationError as error:
        return {name: error}
    return {}


def placeholder(name: str) -> str:
    """The placeholder standing for the per-recipient value ``name`` in a shared fragment."""
    return f"STEPMAILPH{_NONCE}{name.upper()}X"


@lru_cache(maxsize=None)
def own_template(name: str) -> bool:
    """Whether template ``name`` is the plugin's own, not one a project overrides: only our own
    templates are known to show nothing but what a block's fragment key names."""
    from django.template.loader import get_template

    try:
        origin = get_template(name).origin.name
    except Exception:
        return False
    return Path(str(origin)).resolve().is_relative_to(_TEMPLATES)


def placeholders_wanted(ctx: "RenderContext") -> bool:
    """Whether a block is being rendered once for many recipients (fill in placeholders)."""
    return bool(ctx.objects.get(PLACEHOLDERS))


@lru_cache(maxsize=512)
def _merge_template(text: str, html: bool) -> MergeTemplate:
    return MergeTemplate(text, html=html)


def merge(text: str, ctx: RenderContext, *, html: bool = True) -> str:
    """Editor text of a personalised block with the recipient's merge fields filled in.

    Personalised blocks are rendered after the mail's merge pass, so they fill their own text.
    """
    if not text:
        return ""
    return _merge_template(str(text), html).render(ctx.recipient)


class EmailBlockMixin:
    """Mixed into a Wagtail block to render it in a mail.

    Blocks whose output is the same for every recipient (``personalized = False``) are rendered
    once per step and batch; merge fields in their text are filled per recipient afterwards.

    Personalised blocks are rendered per recipient. They load their data for a whole batch in
    :meth:`prepare_batch` (called once per batch, see ``rendering/batch.py``) and read it back with
    :meth:`prepared` while rendering, so a mail costs no queries of its own.
    """

    personalized = False
    email_template: str = ""
    text_template: str = ""

    def email_context(self, value: Any, ctx: RenderContext) -> dict[str, Any]:
        return {"value": value, "ctx": ctx, "brand": ctx.brand}

    def render_email(self, value: Any, ctx: RenderContext) -> str:
        return render_to_string(self.email_template, self.email_context(value, ctx))

    def render_text(self, value: Any, ctx: RenderContext) -> str:
        return render_to_string(self.text_template, self.email_context(value, ctx)).strip()

    # -- personalised blocks -----------------------------------------------------------------
    def fragment(self, value: Any, ctx: RenderContext) -> tuple[Hashable, dict[str, tuple[str, str]]] | None:
        """For a personalised block whose output repeats between recipients: a key naming
        everything this recipient's output depends on apart from a few values, and those values
        as ``{placeholder: (html, text)}``. The block is then rendered once per key with
        :meth:`render_fragment` and the values are put in per mail. None: render per recipient.
        """
        return None

    def render_fragment(self, value: Any, ctx: RenderContext) -> tuple[str, str]:
        """HTML and text for the key :meth:`fragment` gave, with placeholders for its values."""
        ctx.objects[PLACEHOLDERS] = True
        try:
            return self.render_email(value, ctx), self.render_text(value, ctx)
        finally:
            del ctx.objects[PLACEHOLDERS]

    def prepare_batch(self, value: Any, recipients: list[Any], batch: Any) -> None:
        """Load what ``recipients`` need and ``batch.put(value, recipient.key, data)`` for each.

        Called once per batch and block with every recipient of the block's step. Must not query
        per recipient. Only when ``batch.creates_records`` may it create anything.
        """

    def prepared(self, value: Any, ctx: RenderContext) -> Any:
        """This recipient's data from :meth:`prepare_batch`; prepared alone if the batch lacks it."""
        batch = ctx.objects.get("batch")
        key = key_from_context(ctx.objects)
        if batch is not None:  # the usual case (runs for every mail and block): no more work
            found, data = batch.lookup(value, key)
            if found:
                return data
        from ..rendering.batch import PreparedBatch, recipient_from_context

        if batch is None:
            batch = PreparedBatch(base_url=ctx.base_url)
            ctx.objects["batch"] = batch
        found, data = batch.lookup(value, key)
        if found:
            return data
        recipient = batch.recipients.get(key) or batch.add(recipient_from_context(ctx.objects, key))
        self.prepare_batch(value, [recipient], batch)
        return batch.lookup(value, key)[1]
