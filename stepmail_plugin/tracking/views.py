"""Our own click redirect and open pixel, for backends that do not track (plain SMTP).

A click link is ``/stepmail/c/<token>/<n>/``: the token is signed (salt ``stepmail.track``) and
names the delivery and the stored list of links of the mail it was in; ``n`` picks one of them.
Nothing in the link is a URL, so it can only ever lead to a URL that was in that mail: no open
redirect, whatever is tampered with.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..models import EventSource, EventType, TrackedLinkSet
from ..tokens import TRACK, read_token
from .events import IncomingEvent, record_event

logger = logging.getLogger(__name__)

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _payload(token: str) -> dict[str, int] | None:
    try:
        payload = read_token(TRACK, token)
        return {"d": int(payload["d"]), "l": int(payload.get("l") or 0)}
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return None


def _record(kind: str, delivery_id: int, request: HttpRequest, source: str, url: str = "") -> None:
    # Counting must never keep a reader from their page.
    try:
        record_event(IncomingEvent(
            event_type=kind, delivery_id=delivery_id, source=source, url=url,
            user_agent=request.headers.get("User-Agent", "")[:300],
        ))
    except Exception:
        logger.exception("stepmail: could not record a %s of delivery %s", kind, delivery_id)


@never_cache
@require_GET
def click(request: HttpRequest, token: str, index: int) -> HttpResponse:
    """Record the click and redirect to link ``index`` of the mail's link list."""
    payload = _payload(token)
    if payload is None or not payload["l"]:
        return render(request, "stepmail/invalid_link.html", status=400)
    link_set = TrackedLinkSet.objects.filter(pk=payload["l"]).only("urls").first()
    urls: Any = link_set.urls if link_set is not None else []
    if not isinstance(urls, list) or not 0 <= index < len(urls):
        return render(request, "stepmail/invalid_link.html", status=404)
    url = str(urls[index])
    if not url.lower().startswith(("http://", "https://")):  # stored lists only hold these
        return render(request, "stepmail/invalid_link.html", status=404)
    _record(EventType.CLICKED, payload["d"], request, EventSource.REDIRECT, url)
    return HttpResponseRedirect(url)


@never_cache
@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """Record an open and answer with a transparent 1×1 GIF."""
    payload = _payload(token)
    if payload is None:
        return HttpResponse(GIF, content_type="image/gif", status=400)
    _record(EventType.OPENED, payload["d"], request, EventSource.PIXEL)
    return HttpResponse(GIF, content_type="image/gif")


def record_unsubscribe(delivery_id: Any) -> None:
    """Count an unsubscribe from a mail's own link against that mail (called by the view)."""
    try:
        delivery_id = int(delivery_id)
    except (TypeError, ValueError):
        return
    try:
        record_event(IncomingEvent(event_type=EventType.UNSUBSCRIBED, delivery_id=delivery_id,
                                   source=EventSource.UNSUBSCRIBE_LINK))
    except Exception:
        logger.exception("stepmail: could not record the unsubscribe of delivery %s", delivery_id)
