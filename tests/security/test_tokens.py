"""Signed links: one salt per purpose, expiry where it makes sense, and any change rejected."""

from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.utils import timezone
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stepmail_plugin.tokens import (
    PREFERENCES,
    SURVEY,
    TRACK,
    UNSUBSCRIBE,
    WEB_VERSION,
    make_token,
    max_age_for,
    read_token,
)

PURPOSES = [UNSUBSCRIBE, TRACK, PREFERENCES, WEB_VERSION, SURVEY]
payloads = st.fixed_dictionaries(
    {"c": st.integers(min_value=1, max_value=2**53), "d": st.integers(min_value=1, max_value=2**53)},
    optional={"u": st.text(max_size=200), "s": st.integers(min_value=0, max_value=10)},
)
purposes = st.sampled_from(PURPOSES)
# Characters a token can be made of, and a few it cannot.
token_alphabet = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:.=é/ ")


@settings(max_examples=200)
@given(payload=payloads, purpose=purposes)
def test_a_token_reads_back_as_what_was_signed(payload, purpose):
    assert read_token(purpose, make_token(purpose, payload)) == payload


@settings(max_examples=300)
@given(payload=payloads, purpose=purposes, data=st.data())
def test_any_change_to_a_token_is_rejected(payload, purpose, data):
    token = make_token(purpose, payload)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="position")
    change = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="change")
    char = data.draw(token_alphabet, label="char")
    if change == "replace":
        assume(token[position] != char)
        altered = token[:position] + char + token[position + 1:]
    elif change == "delete":
        altered = token[:position] + token[position + 1:]
    else:
        altered = token[:position] + char + token[position:]
    with pytest.raises(signing.BadSignature):
        read_token(purpose, altered)


@settings(max_examples=100)
@given(payload=payloads, made_for=purposes, used_for=purposes)
def test_a_token_works_only_for_its_own_purpose(payload, made_for, used_for):
    assume(made_for != used_for)
    with pytest.raises(signing.BadSignature):
        read_token(used_for, make_token(made_for, payload))


@settings(max_examples=300)
@given(text=st.text(max_size=300) | st.text(token_alphabet, max_size=300), purpose=purposes)
def test_made_up_tokens_are_rejected(text, purpose):
    with pytest.raises(signing.BadSignature):
        read_token(purpose, text)


def test_tokens_signed_with_another_key_are_rejected(settings):
    token = make_token(UNSUBSCRIBE, {"c": 1, "d": 2})
    settings.SECRET_KEY = "another-shop's-key"
    with pytest.raises(signing.BadSignature):
        read_token(UNSUBSCRIBE, token)


def test_tokens_are_not_guessable_from_their_payload():
    """Two tokens differ completely outside the readable payload: the signature is an HMAC of
    the site's secret key, so knowing a contact id is not enough to make their link."""
    first, second = make_token(UNSUBSCRIBE, {"c": 1, "d": 1}), make_token(UNSUBSCRIBE, {"c": 1, "d": 2})
    first_sig, second_sig = first.rsplit(":", 1)[1], second.rsplit(":", 1)[1]
    assert len(first_sig) >= 43  # 256 bits
    assert sum(a == b for a, b in zip(first_sig, second_sig)) < 10


@pytest.mark.parametrize("purpose", [PREFERENCES, WEB_VERSION, SURVEY])
def test_tokens_expire_per_purpose(purpose):
    age = max_age_for(purpose)
    assert age
    token = make_token(purpose, {"c": 1})
    with time_machine.travel(timezone.now() + timedelta(seconds=age - 60)):
        assert read_token(purpose, token) == {"c": 1}
    with time_machine.travel(timezone.now() + timedelta(seconds=age + 60)):
        with pytest.raises(signing.SignatureExpired):
            read_token(purpose, token)


@pytest.mark.parametrize("purpose", [UNSUBSCRIBE, TRACK])
def test_unsubscribe_and_click_links_keep_working_in_old_mail(purpose):
    token = make_token(purpose, {"c": 1, "d": 1})
    with time_machine.travel(timezone.now() + timedelta(days=3 * 365)):
        assert read_token(purpose, token) == {"c": 1, "d": 1}


def test_expiry_is_a_setting(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "TOKEN_MAX_AGE": {UNSUBSCRIBE: 3600}}
    token = make_token(UNSUBSCRIBE, {"c": 1})
    assert max_age_for(UNSUBSCRIBE) == 3600
    assert max_age_for(SURVEY) == 60 * 24 * 3600  # the others keep their defaults
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        with pytest.raises(signing.SignatureExpired):
            read_token(UNSUBSCRIBE, token)
