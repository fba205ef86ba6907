"""Tracked links in commerce blocks: the shop's own links carry ``STEPMAIL["UTM_PARAMETERS"]``.

``utm_campaign`` names the sequence (its slug) and ``utm_content`` the block, so the shop's
analytics credit the mail and the step. Links to other sites are left as they are. Click
redirects (when the tracking module wraps links) apply on top of this.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..conf import stepmail_settings


def tracked_url(url: str, *, base_url: str, campaign: str = "", content: str = "") -> str:
    """``url`` with the configured UTM parameters if it points at the shop (``base_url``)."""
    params = dict(stepmail_settings.UTM_PARAMETERS or {})
    if not url or not params:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != urlsplit(base_url).netloc:
        return url
    if campaign:
        params.setdefault("utm_campaign", campaign)
    if content:
        params.setdefault("utm_content", content)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _v in query}
    query += [(k, str(v)) for k, v in params.items() if k not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))
