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
from binascii import b2a_base64
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


#: Per salt and secret: an HMAC-SHA256 object keyed with the key Django's Signer derives, copied
#: for each token (see :func:`make_token`).
_macs: dict[tuple[str, str], Any] = {}
#: The current second and its base62 timestamp, as bytes (a mail's tokens are made within one).
_stamp: list[Any] = [None, b""]
#: ``urlsafe_b64encode`` is ``b64encode`` and this translation; called directly, in C.
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> bytes:
    """``urlsafe_b64encode(data).rstrip(b"=")``, as Django's ``signing.b64_encode`` makes it."""
    return b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def _payload(payload: Any) -> bytes:
    """``json.dumps(payload, separators=(",", ":"))`` as bytes, written directly for the usual
    payload of a few integer ids (the same text; anything else goes through ``json``)."""
    if payload.__class__ is dict:
        parts = []
        for key, value in payload.items():
            if value.__class__ is not int or key.__class__ is not str or not key.isalnum() or not key.isascii():
                break
            parts.append(f'"{key}":{value}')
        else:
            return ("{" + ",".join(parts) + "}").encode()
    return json.dumps(payload, separators=(",", ":")).encode("latin-1")


def _keyed(purpose: str, secret: str) -> Any:
    """HMAC-SHA256 keyed with the key Django's Signer derives for ``stepmail.<purpose>``."""
    # django.utils.crypto.salted_hmac(salt + "signer", …, algorithm="sha256"), as Signer does.
    salt = f"stepmail.{purpose}"
    key = hashlib.sha256(force_bytes(salt + "signer") + force_bytes(secret)).digest()
    found = _macs[(purpose, secret)] = hmac.new(key, digestmod=hashlib.sha256)
    return found


def make_token(purpose: str, payload: Any) -> str:
    """A URL-safe token carrying ``payload`` (plain JSON values) for links of ``purpose``.

    Exactly what ``signing.dumps(payload, salt=f"stepmail.{purpose}")`` returns (and
    ``read_token`` reads it with ``signing.loads``), made faster for the tokens of every mail:
    the key Django derives from the salt and ``SECRET_KEY`` for each signature is derived once
    per salt and secret here, and the timestamp once per second.
    """
    # Uncompressed: our payloads are a few ids, which zlib only makes longer (read_token reads both).
    secret = settings.SECRET_KEY
    keyed = _macs.get((purpose, secret)) or _keyed(purpose, secret)
    now = int(time.time())
    if _stamp[0] != now:
        _stamp[:] = [now, signing.b62_encode(now).encode()]
    value = b"%s:%s" % (_b64(_payload(payload)), _stamp[1])
    mac = keyed.copy()
    mac.update(value)
    return (value + b":" + _b64(mac.digest())).decode()


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
