"""Tracked links in commerce blocks: the shop's own links carry ``STEPMAIL["UTM_PARAMS"]``
(the same parameters the tracking module adds to the editor's links).

``utm_campaign`` names the sequence (its slug) and ``utm_content`` the block, so the shop's
analytics credit the mail and the step. Links to other sites are left as they are. Click
redirects (when the tracking module wraps links) apply on top of this.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..conf import stepmail_settings


def tracked_url(url: str, *, base_url: str, campaign: str = "", content: str = "") -> str:
    """``url`` with the configured UTM parameters if it points at the shop (``base_url``)."""
    params = {
        key: str(value).replace("{sequence}", campaign).replace("{step}", content).replace("{variant}", "")
        for key, value in (stepmail_settings.UTM_PARAMS or {}).items()
    }
    params = {key: value for key, value in params.items() if value}
    if not url or not params:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != urlsplit(base_url).netloc:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _v in query}
    query += [(k, str(v)) for k, v in params.items() if k not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))
