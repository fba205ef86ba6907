"""Tracked links in commerce blocks: the shop's own links carry ``STEPMAIL["UTM_PARAMS"]``
(the same parameters, on the same hosts, as the tracking module adds to the editor's links).

``utm_campaign`` names the sequence (its slug) and ``utm_content`` the block, so the shop's
analytics credit the mail and the step. Links to other sites are left as they are. Click
redirects (when the tracking module wraps links) apply on top of this.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..conf import stepmail_settings


def tracked_url(url: str, *, base_url: str, campaign: str = "", content: str = "") -> str:
    """``url`` with the configured UTM parameters if it points at one of the shop's hosts
    (``STEPMAIL["UTM_DOMAINS"]``, else ``base_url``'s) and carries no ``utm_*`` parameter yet —
    the same rule as for the editor's links."""
    from ..tracking.links import utm_hosts, with_utm

    params = {
        key: str(value).replace("{sequence}", campaign).replace("{step}", content).replace("{variant}", "")
        for key, value in (stepmail_settings.UTM_PARAMS or {}).items()
    }
    if not url or not any(params.values()) or urlsplit(url).scheme not in ("http", "https"):
        return url
    return with_utm(url, params, utm_hosts(base_url))
