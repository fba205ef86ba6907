"""POST data for Wagtail's page forms, taken from the form the admin shows (so fields other
branches add to the page types are filled with their defaults), with the test's changes."""

from __future__ import annotations

from typing import Any

from django import forms
from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text, streamfield

DEFAULT_BODY = streamfield([("paragraph", rich_text("<p>こんにちは</p>"))])


def page_form_data(client, url: str, **changes: Any) -> dict[str, Any]:
    form = client.get(url).context["form"]
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        if name in changes:
            continue
        if name == "body":
            data[name] = DEFAULT_BODY
            continue
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif value not in (None, ""):
            data[name] = value
    for name in getattr(form, "formsets", {}):
        data[name] = inline_formset([])
    data.update(changes)
    return nested_form_data(data)
