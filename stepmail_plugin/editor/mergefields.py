"""Merge fields as editors see them: short labels, the tag the picker inserts, readable subjects.

The allow-list itself is ``rendering.merge.EDITOR_FIELDS`` (what may be written); this module only
says how each name is shown to an editor — in the merge-field picker of the subject, preheader and
paragraph editors, and in the sequence timeline, where ``{{ first_name|default:"お客様" }}`` is
shown as a chip 「{名}」 instead of the raw tag.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join, json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wagtail.admin.staticfiles import versioned_static

from ..rendering.merge import EDITOR_FIELDS, MergeSyntaxError, MergeTemplate
from ..rendering.merge import Field as MergeField

#: Short names of the merge fields (the picker's entries, the timeline's chips).
FIELD_LABELS: dict[str, Any] = {
    "first_name": pgettext_lazy("merge field", "First name"),
    "last_name": pgettext_lazy("merge field", "Last name"),
    "full_name": pgettext_lazy("merge field", "Full name"),
    "email": pgettext_lazy("merge field", "Email address"),
    "order_number": pgettext_lazy("merge field", "Order number"),
    "order_total": pgettext_lazy("merge field", "Order total"),
    "order_date": pgettext_lazy("merge field", "Order date"),
    "shop_name": pgettext_lazy("merge field", "Shop name"),
    # Names our layout uses, which editors rarely write: labels for the timeline only.
    "unsubscribe_url": pgettext_lazy("merge field", "Unsubscribe link"),
    "web_version_url": pgettext_lazy("merge field", "Web version link"),
    "preheader": pgettext_lazy("merge field", "Preheader"),
    "subject": pgettext_lazy("merge field", "Subject"),
    "track_url": pgettext_lazy("merge field", "Tracking link"),
    "open_url": pgettext_lazy("merge field", "Open tracking link"),
}

#: What the picker puts after ``default:`` — names may be empty (a guest, a contact without a
#: name), and a greeting without one reads 「様」 alone. Other fields are always filled when the
#: trigger provides them, so they get no default.
_NAME_DEFAULT = pgettext_lazy("merge field default", "customer")
FIELD_DEFAULTS: dict[str, Any] = {
    "first_name": _NAME_DEFAULT,
    "last_name": _NAME_DEFAULT,
    "full_name": _NAME_DEFAULT,
}


def merge_tag(name: str, default: str | None = None) -> str:
    """The tag an editor writes for ``name``: ``{{ name }}`` or ``{{ name|default:"…" }}``."""
    if default:
        return '{{ %s|default:"%s" }}' % (name, str(default).replace('"', "”"))
    return "{{ %s }}" % name


def picker_fields() -> list[dict[str, str]]:
    """The merge-field picker's entries in the active language: every field of the allow-list
    with its short label, what it means, and the tag inserted (with a default for names).

    The allow-list does not depend on the sequence's trigger (order fields are filled by order
    triggers and by ``enroll(context=…)``), so every step gets the same list."""
    return [
        {
            "name": name,
            "label": str(FIELD_LABELS.get(name, name)),
            "description": str(description),
            "tag": merge_tag(name, FIELD_DEFAULTS.get(name)),
        }
        for name, description in EDITOR_FIELDS.items()
    ]


def picker_texts() -> dict[str, str]:
    """The picker's own words in the active language (button, menu title)."""
    return {
        "button": str(_("Insert a merge field")),
        "title": str(_("Merge fields: the customer's own details, filled in for each mail")),
    }


def readable_merge_text(text: str) -> SafeString:
    """``text`` as HTML with each merge field shown as a chip with its label (「{名}」) instead of
    its tag. Text that is not valid merge text is shown as it is (escaped)."""
    try:
        parts = MergeTemplate(text or "", html=False).parts
    except MergeSyntaxError:
        return format_html("{}", text or "")
    return format_html_join(
        "",
        "{}",
        (
            (
                format_html(
                    '<span class="stepmail-merge-chip" data-merge-field="{}" title="{}">{{{}}}</span>',
                    part.name,
                    merge_tag(part.name, part.default),
                    FIELD_LABELS.get(part.name, part.name),
                )
                if isinstance(part, MergeField)
                else part,
            )
            for part in parts
        ),
    )


# -- the picker in the admin ------------------------------------------------------------------------

#: The rich-text feature (a Draftail toolbar control) of the paragraph block.
FEATURE = "stepmail-merge-field"
_JS = "stepmail/merge-fields.js"
_DRAFTAIL_JS = "stepmail/merge-fields-draftail.js"
_CSS = "stepmail/merge-fields.css"


class MergeTextInput(forms.TextInput):
    """A text input with the merge-field picker next to it (subject, preheader)."""

    def __init__(self, attrs: dict[str, Any] | None = None):
        super().__init__({**(attrs or {}), "data-stepmail-merge": ""})

    @property
    def media(self) -> forms.Media:
        # Versioned like the rich-text feature's media, so a page with both loads them once.
        return forms.Media(js=[versioned_static(_JS)], css={"all": [versioned_static(_CSS)]})


def register_merge_field_feature(features: Any) -> None:
    """``register_rich_text_features``: the merge-field control of Draftail's toolbar. It only
    inserts text, so it needs no converter rule."""
    from wagtail.admin.rich_text.editors.draftail.features import ControlFeature

    features.register_editor_plugin(
        "draftail", FEATURE, ControlFeature({"type": FEATURE}, js=[_JS, _DRAFTAIL_JS], css={"all": [_CSS]})
    )


def picker_data_script() -> SafeString:
    """``insert_editor_js``: the picker's list in the editor's language, for merge-fields.js."""
    return json_script({"fields": picker_fields(), "texts": picker_texts()}, "stepmail-merge-fields")
