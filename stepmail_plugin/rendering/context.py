"""Per-recipient merge values: plain strings from an allow-list, never model instances."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import translation

from ..conf import stepmail_settings
from .merge import EDITOR_FIELDS

ObjectValues = Callable[[Any, str], dict[str, Any]]
_object_values: dict[str, ObjectValues] = {}
_by_class: dict[type, ObjectValues | None] = {}


def register_object_values(model_label: str, func: ObjectValues) -> None:
    """Let a trigger module provide merge values for its trigger objects (``app_label.model``)."""
    _object_values[model_label.lower()] = func
    _by_class.clear()


def shop_name() -> str:
    return stepmail_settings.SHOP_NAME or getattr(settings, "OSCAR_SHOP_NAME", "") or ""


def full_name(first: str, last: str, language: str) -> str:
    """Both names, the family name first in Japanese (山田 花子); either one alone if the other
    is empty."""
    if language.startswith("ja"):
        first, last = last, first
    if first and last:
        return f"{first} {last}"
    return first or last or ""


def recipient_values(contact: Any, enrollment: Any, obj: Any, language: str, *,
                     shop: str | None = None, language_active: bool = False) -> dict[str, str]:
    """The merge values for one recipient. Only names in the allow-list are ever filled.

    ``shop``: the shop's name when the caller has read it (once for many mails).
    ``language_active``: the caller has made ``language`` active (Django is not asked again).
    """
    first, last = contact.first_name, contact.last_name
    values: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "full_name": full_name(first, last, language),
        "email": contact.email,
        "shop_name": shop_name() if shop is None else shop,
    }
    if obj is not None:
        provider = _provider(obj.__class__)
        if provider is not None:
            if language_active or translation.get_language() == language:  # the usual case: no switch
                values.update(provider(obj, language))
            else:
                with translation.override(language):
                    values.update(provider(obj, language))
    extra = getattr(enrollment, "context", None)
    if extra:
        for name, value in extra.items():
            if name in EDITOR_FIELDS and name not in values and isinstance(value, (str, int, float)):
                values[name] = value
    for name, value in values.items():
        if value.__class__ is not str:
            values[name] = "" if value is None else str(value)
    return values


def _provider(model: type) -> ObjectValues | None:
    """The merge-value provider registered for ``model`` (by its label; remembered per class)."""
    try:
        return _by_class[model]
    except KeyError:
        meta = model._meta
        found = _by_class[model] = _object_values.get(f"{meta.app_label}.{meta.model_name}")
        return found
