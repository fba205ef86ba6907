"""The per-mail signatures made with keyed HMAC objects prepared once are exactly Django's own: the same
tokens as ``signing.dumps`` and the same Message-ID as ``salted_hmac``, so links and Message-IDs
of mail already sent (and of resends) do not change."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import time_machine
from django.core import signing
from django.utils.crypto import salted_hmac
from hypothesis import given, settings
from hypothesis import strategies as st

from stepmail_plugin.dispatch import message_id
from stepmail_plugin.tokens import (
    PREFERENCES,
    SURVEY,
    TRACK,
    UNSUBSCRIBE,
    WEB_VERSION,
    make_token,
)

PURPOSES = [UNSUBSCRIBE, TRACK, PREFERENCES, WEB_VERSION, SURVEY]


@settings(max_examples=100)
@given(
    purpose=st.sampled_from(PURPOSES),
    payload=st.dictionaries(st.sampled_from(["c", "d", "l", "s", "u", "t"]),
                            st.integers(min_value=0, max_value=2**53) | st.text(max_size=20), max_size=4),
)
def test_a_token_is_what_signing_dumps_makes(purpose, payload):
    with time_machine.travel(datetime(2026, 11, 24, 3, 0, tzinfo=UTC), tick=False):
        assert make_token(purpose, payload) == signing.dumps(payload, salt=f"stepmail.{purpose}")


def test_tokens_follow_a_new_secret_key(settings):
    with time_machine.travel(datetime(2026, 11, 24, 3, 0, tzinfo=UTC), tick=False):
        before = make_token(UNSUBSCRIBE, {"c": 1, "d": 2})
        settings.SECRET_KEY = "another-key-" + "x" * 50
        after = make_token(UNSUBSCRIBE, {"c": 1, "d": 2})
        assert after != before
        assert after == signing.dumps({"c": 1, "d": 2}, salt="stepmail.unsubscribe")


def test_the_message_id_is_the_salted_hmac_of_the_delivery(settings):
    created = datetime(2026, 11, 24, 3, 0, 5, 123456, tzinfo=UTC)
    for secret in ("first-key-" + "x" * 50, "second-key-" + "y" * 50):
        settings.SECRET_KEY = secret
        for pk in (1, 98765):
            delivery = SimpleNamespace(pk=pk, created_at=created + timedelta(seconds=pk))
            mac = salted_hmac("stepmail.message-id", f"{pk}:{delivery.created_at.isoformat()}").hexdigest()[:16]
            assert message_id(delivery, "shop.example.jp") == f"<stepmail.{pk}.{mac}@shop.example.jp>"
