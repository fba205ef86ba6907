"""Per-recipient merge values: plain strings from an allow-list, never model instances."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from django.conf import settings
from django.utils import translation

from ..conf import stepmail_settings
from ..scheduling import contact_zone
from .merge import EDITOR_FIELDS

ObjectValues = Callable[..., dict[str, Any]]
#: Per model label: the provider, and whether it takes the recipient's time zone (``zone=``).
_object_values: dict[str, tuple[ObjectValues, bool]] = {}
_by_class: dict[type, tuple[ObjectValues, bool] | None] = {}


def register_object_values(model_label: str, func: ObjectValues) -> None:
    """Let a trigger module provide merge values for its trigger objects (``app_label.model``).

    ``func(obj, language)`` returns the values, with ``language`` active. If it also takes a
    ``zone`` keyword, it gets the time zone dates are shown in: the contact's own, else the
    active one (None when the caller has not read it: use the active zone then).
    """
    accepts_zone = "zone" in inspect.signature(func).parameters
    _object_values[model_label.lower()] = (func, accepts_zone)
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
                     shop: str | None = None, language_active: bool = False,
                     zone: tzinfo | None = None) -> dict[str, str]:
    """The merge values for one recipient. Only names in the allow-list are ever filled.

    ``shop``: the shop's name when the caller has read it (once for many mails).
    ``language_active``: the caller has made ``language`` active (Django is not asked again).
    ``zone``: the active time zone when the caller has read it (once for many mails); dates are
    shown in the contact's own zone if it has one, else in this one.
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
        found = _provider(obj.__class__)
        if found is not None:
            provider, accepts_zone = found
            # Dates in the order summary block and in merge fields agree: the contact's zone first.
            kwargs = {"zone": contact_zone(contact) or zone} if accepts_zone else {}
            if language_active or translation.get_language() == language:  # the usual case: no switch
                values.update(provider(obj, language, **kwargs))
            else:
                with translation.override(language):
                    values.update(provider(obj, language, **kwargs))
    extra = getattr(enrollment, "context", None)
    if extra:
        # The enrollment's context fills what the contact and the trigger object leave empty
        # (e.g. the name given on a form by a contact we know only by address).
        for name, value in extra.items():
            if name in EDITOR_FIELDS and not values.get(name) and isinstance(value, (str, int, float)):
                values[name] = value
        if not values["full_name"] and ("first_name" in extra or "last_name" in extra):
            values["full_name"] = full_name(str(values["first_name"]), str(values["last_name"]), language)
    for name, value in values.items():
        if value.__class__ is not str:
            values[name] = "" if value is None else str(value)
    return values


def _provider(model: type) -> tuple[ObjectValues, bool] | None:
    """The merge-value provider registered for ``model`` (by its label; remembered per class),
    and whether it takes ``zone``."""
    try:
        return _by_class[model]
    except KeyError:
        meta = model._meta
        found = _by_class[model] = _object_values.get(f"{meta.app_label}.{meta.model_name}")
        return found
