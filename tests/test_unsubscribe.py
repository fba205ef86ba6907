"""One-click unsubscribe (RFC 8058): GET changes nothing, POST unsubscribes, tokens are checked."""

import re

import pytest
from django.core import mail, signing
from django.test import Client

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Contact, Delivery, DeliveryStatus, EnrollmentStatus, Suppression
from stepmail_plugin.tokens import make_token

from .factories import make_sequence, place_order

SEQUENCE = [{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}]


@pytest.fixture
def mailed():
    """A customer who got the first mail of a two-step sequence; returns the unsubscribe path."""
    make_sequence(steps=SEQUENCE)
    place_order(guest_email="hanako@example.jp")
    dispatch_due()
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    return re.match(r"<https://shop\.example\.jp(/.*)>", header).group(1)


def contact():
    return Contact.objects.get(email="hanako@example.jp")


@pytest.mark.django_db
def test_get_shows_a_confirmation_and_changes_nothing(mailed):
    response = Client().get(mailed)
    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert "ha***@example.jp" in response.content.decode()
    assert contact().unsubscribed_at is None
    assert not Suppression.objects.exists()


@pytest.mark.django_db
def test_one_click_post_unsubscribes_without_cookies_and_stops_the_queued_step(mailed):
    client = Client(enforce_csrf_checks=True)
    response = client.post(mailed, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert contact().unsubscribed_at is not None
    assert Suppression.objects.get().source == "one-click"
    queued = Delivery.objects.get(step__title="3日後")
    assert (queued.status, queued.reason) == (DeliveryStatus.CANCELLED, "unsubscribed")
    assert queued.enrollment.status == EnrollmentStatus.EXITED

    # Replayed (mail clients retry): harmless, still 200, nothing new.
    assert client.post(mailed, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Suppression.objects.count() == 1


@pytest.mark.django_db
def test_the_link_opened_again_says_it_is_done_instead_of_asking_again(mailed):
    Client().post(mailed, {"confirm": "1"})
    page = Client().get(mailed).content.decode()
    assert "配信はすでに停止されています" in page
    assert 'method="post"' not in page  # nothing left to confirm
    assert Suppression.objects.count() == 1


@pytest.mark.django_db
def test_the_confirmation_form_unsubscribes_too(mailed):
    response = Client(enforce_csrf_checks=True).post(mailed, {"confirm": "1"})
    assert response.status_code == 200
    assert Suppression.objects.get().source == "unsubscribe-page"


@pytest.mark.django_db
@pytest.mark.parametrize("mangle", ["tamper", "truncate", "foreign", "garbage", "no_contact"])
def test_bad_tokens_get_a_4xx_and_change_nothing(mailed, mangle):
    token = mailed.rstrip("/").rsplit("/", 1)[1]
    bad = {
        "tamper": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        "truncate": token[: len(token) // 2],
        "foreign": make_token("click", {"c": contact().pk, "d": 1}),  # signed, but for another purpose
        "garbage": "not-a-token",
        "no_contact": make_token("unsubscribe", {"c": 999999}),
    }[mangle]
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/stepmail/unsubscribe/{bad}/", {"List-Unsubscribe": "One-Click"})
        assert 400 <= response.status_code < 500
    assert contact().unsubscribed_at is None
    assert not Suppression.objects.exists()


@pytest.mark.django_db
def test_a_payload_signed_with_our_key_but_malformed_is_rejected(mailed):
    token = signing.dumps(["not", "a", "dict"], salt="stepmail.unsubscribe", compress=True)
    assert Client().post(f"/stepmail/unsubscribe/{token}/").status_code == 400


@pytest.mark.django_db
def test_suppression_is_checked_again_just_before_sending():
    make_sequence(steps=SEQUENCE)
    place_order(guest_email="hanako@example.jp")
    # Unsubscribed elsewhere (e.g. through the ESP) after the step was queued, without our view.
    Suppression.objects.create(email="hanako@example.jp", reason="unsubscribed", source="esp")
    result = dispatch_due()
    assert mail.outbox == [] and result.skipped == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason) == (DeliveryStatus.SKIPPED, "unsubscribed")
    assert delivery.enrollment.status == EnrollmentStatus.EXITED


@pytest.mark.django_db
def test_transactional_mail_has_no_unsubscribe_link_and_is_not_stopped_by_it():
    make_sequence(steps=[{"subject": "ご利用方法", "delay": 0}], kind="transactional")
    place_order(guest_email="hanako@example.jp")
    Suppression.objects.create(email="hanako@example.jp", reason="unsubscribed", source="esp")
    dispatch_due()
    assert [m.subject for m in mail.outbox] == ["ご利用方法"]
    assert "List-Unsubscribe" not in mail.outbox[0].extra_headers
