"""What arrives from outside — the one-click unsubscribe endpoint, hit by mail clients, link
scanners and attackers — gets a 4xx for anything but a genuine token, never a 5xx, and changes
nothing unless the token is genuine."""

from urllib.parse import quote

import pytest
from django.core import signing
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepmail_plugin.models import Contact, Suppression
from stepmail_plugin.tokens import UNSUBSCRIBE, make_token

fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
form_bodies = st.dictionaries(
    st.sampled_from(["List-Unsubscribe", "confirm", "c", "d", "csrfmiddlewaretoken", "next"]),
    st.text(max_size=50) | st.sampled_from(["One-Click", "1", "-1", "../../admin"]),
    max_size=4,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=8,
)


@pytest.fixture
def customer(db):
    return Contact.objects.create(email="hanako@example.jp")


def nothing_changed(customer):
    customer.refresh_from_db()
    return customer.unsubscribed_at is None and not Suppression.objects.exists()


def hit(path, method, body):
    client = Client(raise_request_exception=False)
    return client.post(path, body) if method == "post" else client.get(path, body)


@fuzz
@given(token=st.text(max_size=200), method=st.sampled_from(["get", "post"]), body=form_bodies)
def test_made_up_tokens_get_a_4xx_and_change_nothing(customer, token, method, body):
    response = hit(f"/stepmail/unsubscribe/{quote(token, safe='')}/", method, body)
    assert 400 <= response.status_code < 500
    assert nothing_changed(customer)


@fuzz
@given(payload=json_values, method=st.sampled_from(["get", "post"]), body=form_bodies)
def test_genuine_signatures_over_malformed_payloads_get_a_4xx(customer, payload, method, body):
    """Even with our key (a token of an old format, a bug elsewhere), a payload that is not a
    contact reference is refused cleanly."""
    if isinstance(payload, dict) and "c" in payload:
        payload["c"] = str(payload["c"]) + "x"
    token = signing.dumps(payload, salt="stepmail.unsubscribe", compress=True)
    response = hit(f"/stepmail/unsubscribe/{token}/", method, body)
    assert 400 <= response.status_code < 500
    assert nothing_changed(customer)


@fuzz
@given(contact_id=st.integers() | st.text(max_size=30), method=st.sampled_from(["get", "post"]))
def test_tokens_for_contacts_that_do_not_exist_get_a_4xx(customer, contact_id, method):
    if contact_id == customer.pk or contact_id == str(customer.pk):
        contact_id = -1
    response = hit(f"/stepmail/unsubscribe/{make_token(UNSUBSCRIBE, {'c': contact_id})}/", method, {})
    assert 400 <= response.status_code < 500
    assert nothing_changed(customer)


@fuzz
@given(body=form_bodies)
def test_a_genuine_token_with_any_body_unsubscribes_once(customer, body):
    Suppression.objects.all().delete()  # each example starts subscribed
    Contact.objects.filter(pk=customer.pk).update(unsubscribed_at=None)
    path = f"/stepmail/unsubscribe/{make_token(UNSUBSCRIBE, {'c': customer.pk, 'd': 1})}/"
    assert hit(path, "get", body).status_code == 200
    assert nothing_changed(customer)  # GET (link scanners) never unsubscribes
    assert hit(path, "post", body).status_code == 200
    assert Suppression.objects.filter(email=customer.email).count() == 1
