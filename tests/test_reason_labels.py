"""Staff read why a mail was not sent in words, in their language, not as internal codes."""

import pytest
from django.urls import reverse

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery
from stepmail_plugin.reasons import outcome_label, reason_label

from . import esp
from .admin_support import operator_client  # noqa: F401 (fixture)
from .factories import make_sequence, place_order


@pytest.fixture
def failures(settings):
    """A real batch in which one address is invalid and the ESP rejects another."""
    settings.STEPMAIL = {**settings.STEPMAIL, "EMAIL_BACKEND": "tests.esp.FlakyEmailBackend"}
    esp.attempts.clear()
    sequence = make_sequence(steps=[{"subject": "ありがとう", "delay": 0}])
    for email in ["not-an-address", "rejected@example.jp", "ok@example.jp"]:
        place_order(guest_email=email)
    dispatch_due()
    return sequence


@pytest.mark.django_db
def test_the_deliveries_list_and_filter_show_reasons_in_japanese(operator_client, failures):  # noqa: F811
    page = operator_client.get(reverse("stepmail_delivery_modeladmin_index")).content.decode()
    assert "無効なアドレス" in page and "メール配信サービスに拒否されました" in page
    assert ">invalid_address<" not in page
    # Filtering by the label still filters by the code.
    filtered = operator_client.get(reverse("stepmail_delivery_modeladmin_index"), {"reason": "invalid_address"})
    assert "not-an-address" in filtered.content.decode() and "rejected@example.jp" not in filtered.content.decode()


@pytest.mark.django_db
def test_the_sequence_report_names_the_reasons(operator_client, failures):  # noqa: F811
    delivery = Delivery.objects.get(enrollment__contact__email="not-an-address")
    assert delivery.reason == "invalid_address"
    page = operator_client.get(reverse("stepmail_reports:sequence", args=[failures.pk])).content.decode()
    assert "失敗: 無効なアドレス (1)" in page


def test_codes_from_elsewhere_stay_readable(english):
    assert reason_label("smtp_550") == "SMTP error 550"
    assert reason_label("esp_422") == "Email service error 422"
    assert reason_label("enrollment_cancelled") == "Enrollment: Cancelled"
    assert reason_label("my_shop_reason") == "my_shop_reason"
    assert reason_label("") == ""
    assert outcome_label("cancelled: unsubscribed") == "Cancelled: Unsubscribed"
    assert outcome_label("failed: —") == "Failed: —"
