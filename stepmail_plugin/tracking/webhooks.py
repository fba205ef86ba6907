"""anymail's webhook views, answering 400 (not 500) to a body they cannot parse.

anymail validates the request (basic auth ``WEBHOOK_SECRET``, ESP signatures: 400 when wrong) and
parses the ESP's format into events. A body that is not what the ESP sends makes the parser raise
an arbitrary exception, which Django turns into a 500, and ESPs retry 500s for days. The views
here are anymail's own, with only that answer changed: the body is logged and rejected with 400,
and no event of it is recorded (parsing finishes before any event is sent).
"""

from __future__ import annotations

import logging

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks.base import AnymailCoreWebhookView
from django.core.exceptions import SuspiciousOperation
from django.urls import URLPattern

logger = logging.getLogger(__name__)


class MalformedWebhookBody(SuspiciousOperation):
    """The webhook body is not in the ESP's format (Django answers 400)."""


class TolerantParseMixin:
    def parse_events(self, request):
        try:
            return list(super().parse_events(request))
        except AnymailWebhookValidationFailure:
            raise
        except Exception as error:
            logger.warning(
                "stepmail: rejected a malformed %s webhook body (%s: %s); first bytes: %r",
                self.esp_name, type(error).__name__, error, request.body[:200],
            )
            raise MalformedWebhookBody(f"Malformed {self.esp_name} webhook body") from error


_wrapped: dict[type, type] = {}


def tolerant(view_class: type) -> type:
    """``view_class`` with :class:`TolerantParseMixin` in front (one subclass per view class)."""
    if view_class not in _wrapped:
        _wrapped[view_class] = type(view_class.__name__, (TolerantParseMixin, view_class), {
            "__module__": __name__,
            "__doc__": view_class.__doc__,
        })
    return _wrapped[view_class]


def wrap_patterns(patterns: list) -> list:
    """anymail's URL patterns with the same routes and names, served by tolerant views."""
    wrapped = []
    for pattern in patterns:
        view_class = getattr(getattr(pattern, "callback", None), "view_class", None)
        if isinstance(pattern, URLPattern) and view_class and issubclass(view_class, AnymailCoreWebhookView):
            initkwargs = getattr(pattern.callback, "view_initkwargs", {}) or {}
            view = tolerant(view_class).as_view(**initkwargs)
            wrapped.append(URLPattern(pattern.pattern, view, pattern.default_args, pattern.name))
        else:
            wrapped.append(pattern)
    return wrapped
