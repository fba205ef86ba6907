"""The trigger registry: which moments can start a sequence.

Host projects add their own with :func:`register` (or the ``STEPMAIL["TRIGGERS"]`` setting)::

    from stepmail_plugin.triggers import Trigger, register

    register(Trigger("webinar_attended", _("Attended a webinar"), per_object=True))

and enroll people with :func:`stepmail_plugin.enroll`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Trigger:
    """A moment that starts a sequence for one contact.

    ``per_object``: one enrollment per trigger object (e.g. per order) instead of once per contact.
    ``implies_consent``: the moment itself is a relationship that allows marketing mail (a purchase),
    so the contact need not have opted in explicitly.
    """

    key: str
    label: Any
    description: Any = ""
    per_object: bool = False
    implies_consent: bool = False


class TriggerRegistry:
    def __init__(self) -> None:
        self._triggers: dict[str, Trigger] = {}
        self._settings_loaded = False

    def register(self, trigger: Trigger) -> Trigger:
        self._triggers[trigger.key] = trigger
        return trigger

    def _load_from_settings(self) -> None:
        if self._settings_loaded:
            return
        from ..conf import stepmail_settings

        for path in stepmail_settings.TRIGGERS:
            obj = import_string(path)
            self.register(obj() if isinstance(obj, type) else obj)
        self._settings_loaded = True

    def get(self, key: str) -> Trigger:
        self._load_from_settings()
        try:
            return self._triggers[key]
        except KeyError:
            raise LookupError(f"Unknown stepmail trigger {key!r}") from None

    def all(self) -> list[Trigger]:
        self._load_from_settings()
        return list(self._triggers.values())


registry = TriggerRegistry()
register = registry.register


def trigger_choices() -> list[tuple[str, Any]]:
    """Choices for ``SequencePage.trigger`` (a callable, so host triggers appear too)."""
    return [(t.key, t.label) for t in registry.all()]


ORDER_PLACED = register(
    Trigger(
        "order_placed",
        _("Order placed"),
        _("Starts when a customer (or guest) places an order; once per order."),
        per_object=True,
        implies_consent=True,
    )
)
USER_REGISTERED = register(
    Trigger(
        "user_registered",
        _("Customer registered"),
        _("Starts when a customer account is created, however it was created; once per person."),
    )
)
CUSTOM = register(
    Trigger(
        "custom",
        _("Custom (enroll() from code)"),
        _("Starts only when your code calls stepmail_plugin.enroll(); the caller answers for consent."),
        implies_consent=True,
    )
)
