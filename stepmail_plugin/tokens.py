"""Signed tokens for links that carry identity. One salt per purpose, so a token made for one
link (say, a click) is worthless for another (say, unsubscribe).

Tokens are Django ``signing`` values: the payload (ids, never an address or a URL) readable but
not alterable without ``SECRET_KEY``, and a timestamp, so each purpose can expire
(``STEPMAIL["TOKEN_MAX_AGE"]``). Any change to a token makes it invalid.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.encoding import force_bytes

from .conf import DEFAULTS, stepmail_settings

UNSUBSCRIBE = "unsubscribe"
#: Click redirects and the open pixel of one mail.
TRACK = "track"
PREFERENCES = "preferences"
WEB_VERSION = "web_version"
SURVEY = "survey"

_DEFAULT_AGE = object()


#: HMAC objects keyed by the derived key of a salt and secret (see :func:`make_token`).
_macs: dict[tuple[str, str], Any] = {}


def make_token(purpose: str, payload: Any) -> str:
    """A URL-safe token carrying ``payload`` (plain JSON values) for links of ``purpose``.

    Exactly what ``signing.dumps(payload, salt=f"stepmail.{purpose}")`` returns (and
    ``read_token`` reads it with ``signing.loads``), made faster for the three tokens of every
    mail: the key Django derives from the salt and ``SECRET_KEY`` for each signature is derived
    once per salt and secret here.
    """
    # Uncompressed: our payloads are a few ids, which zlib only makes longer (read_token reads both).
    salt = f"stepmail.{purpose}"
    secret = settings.SECRET_KEY
    base = _macs.get((salt, secret))
    if base is None:
        # django.utils.crypto.salted_hmac(salt + "signer", …, algorithm="sha256"), as Signer does.
        key = hashlib.sha256(force_bytes(salt + "signer") + force_bytes(secret)).digest()
        base = _macs[(salt, secret)] = hmac.new(key, digestmod=hashlib.sha256)
    data = signing.b64_encode(json.dumps(payload, separators=(",", ":")).encode("latin-1")).decode()
    value = f"{data}:{signing.b62_encode(int(time.time()))}"
    mac = base.copy()
    mac.update(value.encode())
    return f"{value}:{signing.b64_encode(mac.digest()).decode()}"


def max_age_for(purpose: str) -> float | None:
    """Seconds a token of ``purpose`` stays valid (None: no expiry), from the settings."""
    ages = {**DEFAULTS["TOKEN_MAX_AGE"], **(stepmail_settings.TOKEN_MAX_AGE or {})}
    return ages.get(purpose)


def read_token(purpose: str, token: str, max_age: Any = _DEFAULT_AGE) -> Any:
    """The payload of ``token``.

    Raises ``signing.BadSignature`` if it was altered, made for another purpose or with another
    key, and its subclass ``signing.SignatureExpired`` if it is older than ``max_age`` seconds
    (default: the purpose's ``TOKEN_MAX_AGE``).
    """
    if max_age is _DEFAULT_AGE:
        max_age = max_age_for(purpose)
    try:
        return signing.loads(token, salt=f"stepmail.{purpose}", max_age=max_age)
    except signing.BadSignature:
        raise
    except Exception as error:  # a valid signature over something we never wrote
        raise signing.BadSignature(f"Malformed token: {type(error).__name__}") from error
