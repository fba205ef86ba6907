"""The trigger registry: which moments can start a sequence.

Host projects add their own with :func:`register` (or the ``STEPMAIL["TRIGGERS"]`` setting)::

    from stepmail_plugin.triggers import Trigger, register

    register(Trigger(
        "webinar_attended",
        _("Attended a webinar"),
        per_object=True,
        person=lambda attendance: attendance.user,       # who enters
        anchor=lambda attendance: attendance.ended_at,   # when their clock starts
    ))

and enroll people with :func:`stepmail_plugin.enroll` or, for triggers that know how to find the
contact and anchor of an object, :func:`fire`. See ``docs/triggers.md``.
"""

from __future__ import annotations

from collections.abc import Callable
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
    ``exits_on_purchase``: any order ends the enrollment (abandoned basket, win-back…), whatever the
    sequence's own exit settings.
    ``person``: object → the user, email address or Contact who enters (used by :func:`fire`).
    ``anchor``: object → the aware datetime step delays count from (default: now).
    ``sequence_filter``: ``(sequence, obj, match) → bool``, whether a sequence of this trigger
    takes this object (e.g. the form page chosen on the sequence); ``match`` holds what the
    caller passed to ``enroll(match=…)``.
    ``exit_reason``: trigger object (or None if it was deleted) → a reason to end the enrollment
    now, or ``""``. Called at send time with the batch-loaded object: it must not query.
    """

    key: str
    label: Any
    description: Any = ""
    per_object: bool = False
    implies_consent: bool = False
    exits_on_purchase: bool = False
    person: Callable[[Any], Any] | None = None
    anchor: Callable[[Any], Any] | None = None
    sequence_filter: Callable[[Any, Any, dict[str, Any]], bool] | None = None
    exit_reason: Callable[[Any], str] | None = None


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

    def find(self, key: str) -> Trigger | None:
        """The trigger registered under ``key``, or None (e.g. a host trigger since removed)."""
        self._load_from_settings()
        return self._triggers.get(key)

    def all(self) -> list[Trigger]:
        self._load_from_settings()
        return list(self._triggers.values())


registry = TriggerRegistry()
register = registry.register


def trigger_choices() -> list[tuple[str, Any]]:
    """Choices for ``SequencePage.trigger`` (a callable, so host triggers appear too)."""
    return [(t.key, t.label) for t in registry.all()]


def fire(key: str, obj: Any, **kwargs: Any) -> list[Any]:
    """Enroll the person of ``obj`` for trigger ``key``, using the trigger's ``person`` and
    ``anchor`` callables. Returns the enrollments created. Extra keyword arguments go to
    :func:`stepmail_plugin.enroll` (``context``…)."""
    from ..enrollment import enroll

    trigger = registry.get(key)
    if trigger.person is None:
        raise ValueError(f"Trigger {key!r} has no person callable; call stepmail_plugin.enroll() instead")
    at = trigger.anchor(obj) if trigger.anchor is not None else kwargs.pop("at", None)
    return enroll(trigger.person(obj), key, obj=obj, at=at, **kwargs)


def _form_page_matches(sequence: Any, submission: Any, match: dict[str, Any]) -> bool:
    return sequence.form_page_id is not None and sequence.form_page_id == getattr(submission, "page_id", None)


def _shipped_status_matches(sequence: Any, order: Any, match: dict[str, Any]) -> bool:
    if "status" in match:  # a status change; otherwise a shipping event or a call from code
        return match["status"] in sequence.statuses
    return True


def _anniversary_matches(sequence: Any, obj: Any, match: dict[str, Any]) -> bool:
    return sequence.anniversary_of == match.get("anniversary_of", sequence.anniversary_of)


def _order_exit(order: Any) -> str:
    from ..conf import stepmail_settings

    if order is not None and order.status in stepmail_settings.CANCELLED_ORDER_STATUSES:
        return "order_cancelled"
    return ""


def _basket_exit(basket: Any) -> str:
    # Oscar's basket statuses; "Frozen" (checkout under way) may still thaw, so it stays.
    if basket is None or basket.status == "Merged":
        return "basket_closed"
    if basket.status == "Submitted":
        return "purchased"
    return ""


ORDER_PLACED = register(
    Trigger(
        "order_placed",
        _("Order placed"),
        _("Starts when a customer (or guest) places an order; once per order."),
        per_object=True,
        implies_consent=True,
        exit_reason=_order_exit,
    )
)
ORDER_SHIPPED = register(
    Trigger(
        "order_shipped",
        _("Order shipped"),
        _("Starts when an order moves into a shipped status or a shipping event is recorded; once per order."),
        per_object=True,
        implies_consent=True,
        sequence_filter=_shipped_status_matches,
        exit_reason=_order_exit,
    )
)
USER_REGISTERED = register(
    Trigger(
        "user_registered",
        _("Customer registered"),
        _("Starts when a customer account is created, however it was created; once per person."),
    )
)
BASKET_ABANDONED = register(
    Trigger(
        "basket_abandoned",
        _("Basket abandoned (かご落ち)"),
        _("Starts when a signed-in customer's basket with items has been idle for the threshold; once per basket."),
        per_object=True,
        exits_on_purchase=True,
        exit_reason=_basket_exit,
    )
)
PRODUCT_BROWSED = register(
    Trigger(
        "product_browsed",
        _("Product browsed, not bought"),
        _("Starts when a signed-in customer viewed products and did not buy them within the threshold."),
        exits_on_purchase=True,
    )
)
CUSTOMER_DORMANT = register(
    Trigger(
        "customer_dormant",
        _("Dormant customer (休眠顧客)"),
        _("Starts when a customer's last order is older than the threshold; once per dormant period."),
        implies_consent=True,
        exits_on_purchase=True,
    )
)
BIRTHDAY = register(
    Trigger(
        "birthday",
        _("Birthday"),
        _("Starts on the customer's birthday (or the threshold before it), in their time zone; once a year."),
    )
)
ANNIVERSARY = register(
    Trigger(
        "anniversary",
        _("Anniversary"),
        _("Starts on the yearly return of the customer's registration or first order; once a year."),
        sequence_filter=_anniversary_matches,
    )
)
FORM_SUBMITTED = register(
    Trigger(
        "form_submitted",
        _("Form submitted (資料請求, webinar…)"),
        _("Starts when someone submits the Wagtail form page chosen on the sequence; once per submission."),
        per_object=True,
        sequence_filter=_form_page_matches,
    )
)
CUSTOM = register(
    Trigger(
        "custom",
        _("Custom (enroll() from code)"),
        _("Starts only when your code calls stepmail_plugin.enroll(). Marketing sequences take only "
          "people who opted in: pass consent_source when they give consent at this moment."),
    )
)
