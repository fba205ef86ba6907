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


def register_object_values(model_label: str, func: ObjectValues) -> None:
    """Let a trigger module provide merge values for its trigger objects (``app_label.model``)."""
    _object_values[model_label.lower()] = func


def shop_name() -> str:
    return stepmail_settings.SHOP_NAME or getattr(settings, "OSCAR_SHOP_NAME", "") or ""


def full_name(first: str, last: str, language: str) -> str:
    # Japanese puts the family name first (山田 花子).
    parts = (last, first) if language.startswith("ja") else (first, last)
    return " ".join(p for p in parts if p)


def recipient_values(contact: Any, enrollment: Any, obj: Any, language: str) -> dict[str, str]:
    """The merge values for one recipient. Only names in the allow-list are ever filled."""
    values: dict[str, Any] = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": full_name(contact.first_name, contact.last_name, language),
        "email": contact.email,
        "shop_name": shop_name(),
    }
    if obj is not None:
        provider = _object_values.get(f"{obj._meta.app_label}.{obj._meta.model_name}")
        if provider is not None:
            if translation.get_language() == language:  # the usual case in a batch: no switch
                values.update(provider(obj, language))
            else:
                with translation.override(language):
                    values.update(provider(obj, language))
    extra = getattr(enrollment, "context", None) or {}
    for name, value in extra.items():
        if name in EDITOR_FIELDS and name not in values and isinstance(value, (str, int, float)):
            values[name] = value
    return {k: ("" if v is None else str(v)) for k, v in values.items()}
