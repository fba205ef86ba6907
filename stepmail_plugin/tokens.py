"""Signed tokens for links that carry identity. One salt per purpose, so a token made for one
link (say, a click) is worthless for another (say, unsubscribe)."""

from __future__ import annotations

from typing import Any

from django.core import signing

UNSUBSCRIBE = "unsubscribe"
#: Click redirects and the open pixel of one mail.
TRACK = "track"
#: A survey link: who answers (contact, delivery, page).
SURVEY = "survey"
#: "View in browser": which mail to show.
WEB_VERSION = "webversion"


def make_token(purpose: str, payload: Any) -> str:
    # Uncompressed: our payloads are a few ids, which zlib only makes longer (read_token reads both).
    return signing.dumps(payload, salt=f"stepmail.{purpose}")


def read_token(purpose: str, token: str, max_age: float | None = None) -> Any:
    """The payload of ``token``; raises ``signing.BadSignature`` if it was altered or is foreign."""
    return signing.loads(token, salt=f"stepmail.{purpose}", max_age=max_age)
