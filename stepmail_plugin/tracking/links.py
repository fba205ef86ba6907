"""Links in a compiled step: UTM parameters, and rewriting to signed click redirects.

Done once per compiled step (per batch), never per recipient: each tracked link becomes
``{{ track_url }}<n>/``, where ``n`` is its position in the step's link list and ``track_url``
is the one per-mail part (a signed token naming the delivery and the link list). Rendering a
recipient's mail is then the usual join of merge values.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils.html import escape

from ..conf import stepmail_settings

_HREF = re.compile(r'(<a\b[^>]*?\shref=")([^"]*)(")', re.I | re.S)
_BODY_END = re.compile(r"</body>", re.I)
# URLs in the plain-text part end at whitespace or at brackets/quotes around them.
_TEXT_URL = re.compile(r"https?://[^\s<>\"'()\[\]「」（）]+")
_TRAILING = ".,;:!?、。"

TRACK_FIELD = "track_url"
OPEN_FIELD = "open_url"
PIXEL = (
    '<img src="{{ %s }}" width="1" height="1" alt="" '
    'style="display:block;width:1px;height:1px;border:0;overflow:hidden;">' % OPEN_FIELD
)


def _auto(value) -> bool:
    if value is not None:
        return bool(value)
    backend = stepmail_settings.EMAIL_BACKEND or settings.EMAIL_BACKEND
    # anymail ESPs track clicks and opens themselves and report them by webhook.
    return not str(backend).startswith("anymail.")


def clicks_tracked() -> bool:
    """Whether step mail carries our own click redirects (``STEPMAIL["TRACK_CLICKS"]``)."""
    return _auto(stepmail_settings.TRACK_CLICKS)


def opens_tracked() -> bool:
    """Whether step mail carries our own open pixel (``STEPMAIL["TRACK_OPENS"]``)."""
    return _auto(stepmail_settings.TRACK_OPENS)


def utm_hosts(base_url: str) -> set[str]:
    configured = stepmail_settings.UTM_DOMAINS
    if configured is not None:
        return {h.lower() for h in configured}
    host = urlsplit(base_url).hostname
    return {host.lower()} if host else set()


def with_utm(url: str, params: dict[str, str], hosts: Iterable[str]) -> str:
    """``url`` with UTM ``params`` added when it points to one of ``hosts`` and has none yet."""
    if not params:
        return url
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in hosts:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key.lower().startswith("utm_") for key, _ in query):
        return url
    query += [(k, v) for k, v in params.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


class LinkRewriter:
    """Called by :class:`~stepmail_plugin.rendering.compile.CompiledStep` with its finished HTML
    and text; collects the step's links in :attr:`urls`."""

    def __init__(self, *, utm: dict[str, str], hosts: Iterable[str], track_clicks: bool, track_opens: bool):
        self.utm = utm
        self.hosts = set(hosts)
        self.track_clicks = track_clicks
        self.track_opens = track_opens
        self.urls: list[str] = []
        self._positions: dict[str, int] = {}

    def __call__(self, html: str, text: str) -> tuple[str, str]:
        html = _HREF.sub(self._href, html)
        text = _TEXT_URL.sub(self._text_url, text)
        if self.track_opens:
            html, found = _BODY_END.subn(PIXEL + "</body>", html, count=1)
            if not found:
                html += PIXEL
        return html, text

    def _position(self, url: str) -> int:
        if url not in self._positions:
            self._positions[url] = len(self.urls)
            self.urls.append(url)
        return self._positions[url]

    def _final(self, url: str) -> str | None:
        """The URL to send people to, or None to leave the link alone."""
        if "{{" in url or not url.lower().startswith(("http://", "https://")):
            return None  # merge-field links (unsubscribe, personal URLs), mailto:, #anchors
        return with_utm(url, self.utm, self.hosts)

    def _href(self, match: re.Match) -> str:
        url = self._final(html_lib.unescape(match.group(2)))
        if url is None:
            return match.group(0)
        if self.track_clicks:
            target = "{{ %s }}%d/" % (TRACK_FIELD, self._position(url))
        else:
            target = escape(url)
        return match.group(1) + target + match.group(3)

    def _text_url(self, match: re.Match) -> str:
        raw = match.group(0)
        stripped = raw.rstrip(_TRAILING)
        tail = raw[len(stripped):]
        url = self._final(stripped)
        if url is None:
            return raw
        if self.track_clicks:
            return "{{ %s }}%d/%s" % (TRACK_FIELD, self._position(url), tail)
        return url + tail
