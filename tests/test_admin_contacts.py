"""Operators look up a contact and see what it was sent, newest first."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stepmail_plugin.models import Contact, Suppression, SuppressionReason

from .admin_support import (
    add_step,
    make_contact,
    make_delivery,
    make_enrollment,
    make_sequence,
)

pytestmark = pytest.mark.django_db

INDEX = "stepmail_contact_modeladmin_index"
INSPECT = "stepmail_contact_modeladmin_inspect"


def test_inspect_shows_enrollments_and_every_delivery_newest_first(operator_client, scenario):
    contact = scenario["contact"]
    birthday = make_sequence("誕生日クーポン", trigger="user_registered")
    coupon = add_step(birthday, "お誕生日おめでとうございます")
    later = make_enrollment(contact, birthday, anchor_at=timezone.now() + timedelta(days=30))
    make_delivery(later, coupon)

    page = operator_client.get(reverse(INSPECT, args=[contact.pk])).content.decode()

    assert "購入後フォロー" in page and "誕生日クーポン" in page  # both enrollments
    assert "花子様、ご購入ありがとうございます" in page  # the subject as sent
    assert "esp-0001" in page  # the ESP's message id
    # newest first: the birthday mail (due in 30 days), the scheduled follow-up, the sent welcome
    positions = [
        page.index(s)
        for s in (
            "お誕生日おめでとうございます",
            "商品は届きましたか？",
            "花子様、ご購入ありがとうございます",
        )
    ]
    assert positions == sorted(positions)


def test_inspect_shows_suppressions_of_the_address(operator_client, scenario):
    contact = scenario["contact"]
    Suppression.objects.create(
        email=contact.email, reason=SuppressionReason.MANUAL, source="phone call 2024-05"
    )
    page = operator_client.get(reverse(INSPECT, args=[contact.pk])).content.decode()
    assert "phone call 2024-05" in page


def test_search_by_email_and_name(operator_client, scenario):
    make_contact("taro@example.com", first_name="太郎", last_name="佐藤")
    by_email = operator_client.get(reverse(INDEX), {"q": "taro@"}).content.decode()
    assert "taro@example.com" in by_email and "hanako@example.jp" not in by_email
    by_name = operator_client.get(reverse(INDEX), {"q": "山田"}).content.decode()
    assert "hanako@example.jp" in by_name and "taro@example.com" not in by_name


def test_filter_by_opt_out_state(operator_client, scenario):
    make_contact("left@example.com", unsubscribed_at=timezone.now())
    make_contact("bounced@example.com", bounced_at=timezone.now())
    make_contact("imported@example.com")
    Suppression.objects.create(email="imported@example.com", reason=SuppressionReason.UNSUBSCRIBED)

    unsubscribed = operator_client.get(reverse(INDEX), {"state": "unsubscribed"}).content.decode()
    assert "left@example.com" in unsubscribed and "imported@example.com" in unsubscribed
    assert "hanako@example.jp" not in unsubscribed and "bounced@example.com" not in unsubscribed

    bounced = operator_client.get(reverse(INDEX), {"state": "bounced"}).content.decode()
    assert "bounced@example.com" in bounced and "left@example.com" not in bounced

    receiving = operator_client.get(reverse(INDEX), {"state": "receiving"}).content.decode()
    assert "hanako@example.jp" in receiving
    assert not any(
        e in receiving for e in ("left@example.com", "bounced@example.com", "imported@example.com")
    )


def test_filter_by_consent(operator_client, scenario):
    make_contact("yes@example.com", consent="opted_in")
    page = operator_client.get(reverse(INDEX), {"consent__exact": "opted_in"}).content.decode()
    assert "yes@example.com" in page and "hanako@example.jp" not in page


def test_contacts_are_not_created_or_edited_here(operator_client, scenario):
    contact = scenario["contact"]
    assert operator_client.get(reverse("stepmail_contact_modeladmin_create")).status_code == 302
    response = operator_client.post(
        reverse("stepmail_contact_modeladmin_edit", args=[contact.pk]),
        {"email": "changed@example.com"},
    )
    assert response.status_code == 302
    assert Contact.objects.get(pk=contact.pk).email == "hanako@example.jp"


def test_staff_without_permission_cannot_see_contacts(staff_client, scenario):
    for url in (reverse(INDEX), reverse(INSPECT, args=[scenario["contact"].pk])):
        response = staff_client.get(url)
        assert response.status_code == 302  # Wagtail sends them to the dashboard with a message
        assert response["Location"] == reverse("wagtailadmin_home")


def test_view_permission_is_enough_to_look(viewer_client, scenario):
    response = viewer_client.get(reverse(INSPECT, args=[scenario["contact"].pk]))
    assert response.status_code == 200
    assert "花子様、ご購入ありがとうございます" in response.content.decode()
