"""The preferences page: a customer stops one sequence, or all marketing mail, and can come back."""

import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import (
    ConsentStatus,
    Contact,
    Delivery,
    DeliveryStatus,
    EnrollmentStatus,
    Suppression,
    SuppressionReason,
)
from stepmail_plugin.tokens import make_token

from .factories import make_sequence, place_order

EMAIL = "hanako@example.jp"


@pytest.fixture
def two_sequences():
    """A customer who got day-0 mails of two marketing sequences, each with a day-3 step queued."""
    apparel = make_sequence("アパレル購入後フォロー", steps=[{"subject": "当日A", "delay": 0}, {"subject": "3日後A", "delay": 3}])
    reviews = make_sequence("レビュー依頼", steps=[{"subject": "当日B", "delay": 0}, {"subject": "3日後B", "delay": 3}])
    place_order(guest_email=EMAIL)
    dispatch_due()
    assert sorted(m.subject for m in mail.outbox) == ["当日A", "当日B"]
    return apparel, reviews


def preferences_path(client: Client) -> str:
    """Follow the customer's path: the unsubscribe link in the mail, then the preferences link."""
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    unsubscribe = re.match(r"<https://shop\.example\.jp(/.*)>", header).group(1)
    page = client.get(unsubscribe).content.decode()
    return re.search(r'href="(/stepmail/preferences/[^"]+)"', page).group(1)


def contact():
    return Contact.objects.get(email=EMAIL)


def send_day_3():
    mail.outbox.clear()
    with time_machine.travel(timezone.now() + timezone.timedelta(days=3, minutes=1)):
        dispatch_due()
    return sorted(m.subject for m in mail.outbox)


@pytest.mark.django_db
def test_the_page_lists_the_sequences_the_customer_is_in_and_get_changes_nothing(two_sequences):
    client = Client()
    response = client.get(preferences_path(client))
    page = response.content.decode()
    assert response.status_code == 200
    assert "アパレル購入後フォロー" in page and "レビュー依頼" in page
    assert page.count("checked") == 3  # marketing mail + both sequences
    assert "ha***@example.jp" in page and EMAIL not in page
    assert not Suppression.objects.exists()


@pytest.mark.django_db
def test_stopping_one_sequence_stops_its_next_step_and_keeps_the_other(two_sequences):
    apparel, reviews = two_sequences
    client = Client(enforce_csrf_checks=False)
    path = preferences_path(client)
    response = client.post(path, {"marketing": "on", "sequences": [reviews.pk]})
    assert response.status_code == 302
    assert "設定を保存しました" in client.get(response["Location"]).content.decode()

    stopped = Suppression.objects.get()
    assert (stopped.sequence_id, stopped.reason, stopped.source) == (apparel.pk, SuppressionReason.UNSUBSCRIBED, "preferences-page")
    queued = Delivery.objects.get(step__title="3日後A")
    assert (queued.status, queued.reason) == (DeliveryStatus.CANCELLED, "unsubscribed")
    assert queued.enrollment.status == EnrollmentStatus.EXITED
    assert contact().unsubscribed_at is None
    assert send_day_3() == ["3日後B"]

    # The next order enrolls them in the reviews sequence only.
    place_order(guest_email=EMAIL)
    mail.outbox.clear()
    dispatch_due()
    assert [m.subject for m in mail.outbox] == ["当日B"]


@pytest.mark.django_db
def test_unticking_marketing_mail_unsubscribes_and_ticking_it_again_resubscribes(two_sequences):
    client = Client()
    path = preferences_path(client)
    client.post(path, {"sequences": [s.pk for s in two_sequences]})
    assert contact().unsubscribed_at is not None
    assert send_day_3() == []

    # Changed their mind: they opt in again, with the consent recorded; new orders mail them again.
    client.post(path, {"marketing": "on", "sequences": [s.pk for s in two_sequences]})
    again = contact()
    assert again.unsubscribed_at is None
    assert (again.consent, again.consent_source) == (ConsentStatus.OPTED_IN, "preferences-page")
    assert not Suppression.objects.exists()
    place_order(guest_email=EMAIL)
    mail.outbox.clear()
    dispatch_due()
    assert sorted(m.subject for m in mail.outbox) == ["当日A", "当日B"]


@pytest.mark.django_db
def test_resubscribing_does_not_lift_a_bounce_or_a_staff_suppression(two_sequences):
    Suppression.objects.create(email=EMAIL, reason=SuppressionReason.MANUAL)
    client = Client()
    path = preferences_path(client)
    everything = [s.pk for s in two_sequences]
    client.post(path, {"sequences": everything})
    client.post(path, {"marketing": "on", "sequences": everything})
    assert list(Suppression.objects.values_list("reason", flat=True)) == [SuppressionReason.MANUAL]


@pytest.mark.django_db
def test_sequence_titles_are_escaped_and_the_promote_title_is_preferred(two_sequences):
    apparel, reviews = two_sequences
    apparel.seo_title = "<b>お買い物のあとのご案内</b>"
    apparel.save_revision().publish()
    client = Client()
    page = client.get(preferences_path(client)).content.decode()
    assert "&lt;b&gt;お買い物のあとのご案内&lt;/b&gt;" in page and "<b>お買い物" not in page
    assert "アパレル購入後フォロー" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("mangle", ["tamper", "unsubscribe_token", "no_contact", "expired"])
def test_bad_or_old_links_get_a_4xx_and_change_nothing(two_sequences, mangle):
    pk = contact().pk
    good = make_token("preferences", {"c": pk})
    token = {
        "tamper": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "unsubscribe_token": make_token("unsubscribe", {"c": pk, "d": 1}),
        "no_contact": make_token("preferences", {"c": 999999}),
        "expired": good,
    }[mangle]
    later = timezone.now() + timezone.timedelta(days=366 if mangle == "expired" else 0)
    with time_machine.travel(later):
        for method in ("get", "post"):
            response = getattr(Client(), method)(f"/stepmail/preferences/{token}/", {"sequences": []})
            assert 400 <= response.status_code < 500
    assert contact().unsubscribed_at is None
    assert not Suppression.objects.exists()


@pytest.mark.django_db
def test_the_page_needs_its_csrf_token_when_posted_from_elsewhere(two_sequences):
    client = Client(enforce_csrf_checks=True)
    path = preferences_path(client)
    assert client.post(path, {"sequences": []}).status_code == 403
    assert contact().unsubscribed_at is None
