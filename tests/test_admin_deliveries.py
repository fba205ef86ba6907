"""Deliveries are read-only, except that staff may requeue an uncertain or failed one."""

from datetime import timedelta
from uuid import uuid4

import pytest
from django.urls import reverse
from django.utils import timezone

from stepmail_plugin.dispatch import due_queryset
from stepmail_plugin.models import Delivery, DeliveryStatus, EnrollmentStatus
from stepmail_plugin.signals import delivery_status_changed

pytestmark = pytest.mark.django_db

INDEX = "stepmail_delivery_modeladmin_index"


def requeue_url(delivery):
    return reverse("stepmail_delivery_modeladmin_requeue", args=[delivery.pk])


@pytest.fixture
def uncertain(scenario):
    """The follow-up mail whose worker died while handing it to the ESP."""
    delivery = scenario["scheduled"]
    delivery.status = DeliveryStatus.UNCERTAIN
    delivery.claim_token = uuid4()
    delivery.claimed_at = timezone.now() - timedelta(hours=1)
    delivery.due_at = timezone.now() - timedelta(hours=2)
    delivery.save()
    return delivery


def test_requeue_asks_for_confirmation_then_moves_an_uncertain_delivery_back_to_scheduled(
    operator_client, uncertain, django_capture_on_commit_callbacks
):
    confirmation = operator_client.get(requeue_url(uncertain))
    assert confirmation.status_code == 200
    assert "stepmail-requeue-form" in confirmation.content.decode()
    uncertain.refresh_from_db()
    assert uncertain.status == DeliveryStatus.UNCERTAIN  # a GET changes nothing

    announced = []

    def receiver(sender, delivery, old_status, new_status, **kwargs):
        announced.append((delivery.pk, old_status, new_status))

    delivery_status_changed.connect(receiver)
    before = timezone.now()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = operator_client.post(requeue_url(uncertain))
    finally:
        delivery_status_changed.disconnect(receiver)

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "stepmail_delivery_modeladmin_inspect", args=[uncertain.pk]
    )
    uncertain.refresh_from_db()
    assert uncertain.status == DeliveryStatus.SCHEDULED
    assert uncertain.claim_token is None and uncertain.claimed_at is None
    assert before <= uncertain.due_at <= timezone.now()
    assert uncertain.reason == "requeued_by_staff"
    assert announced == [(uncertain.pk, DeliveryStatus.UNCERTAIN, DeliveryStatus.SCHEDULED)]
    # and the dispatcher now sees it as due
    assert list(due_queryset(timezone.now())) == [uncertain]


def test_requeue_a_failed_delivery(operator_client, scenario):
    failed = scenario["scheduled"]
    failed.status = DeliveryStatus.FAILED
    failed.attempts = 6
    failed.reason = "esp_error"
    failed.save()
    operator_client.post(requeue_url(failed))
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.SCHEDULED
    assert failed.attempts == 6  # one more try; the count so far is kept


def test_a_sent_delivery_is_never_requeued(operator_client, scenario):
    sent = scenario["sent"]
    page = operator_client.get(requeue_url(sent)).content.decode()
    assert "stepmail-requeue-form" not in page  # it explains why instead of offering the form
    operator_client.post(requeue_url(sent))
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.SENT


def test_no_requeue_once_the_enrollment_has_ended(operator_client, uncertain, scenario):
    enrollment = scenario["enrollment"]
    enrollment.status = EnrollmentStatus.CANCELLED
    enrollment.save()
    operator_client.post(requeue_url(uncertain))
    uncertain.refresh_from_db()
    assert uncertain.status == DeliveryStatus.UNCERTAIN


def test_requeue_needs_change_permission(staff_client, uncertain):
    assert staff_client.get(requeue_url(uncertain)).status_code == 403
    assert staff_client.post(requeue_url(uncertain)).status_code == 403
    uncertain.refresh_from_db()
    assert uncertain.status == DeliveryStatus.UNCERTAIN


def test_viewers_cannot_requeue_and_see_no_button(viewer_client, uncertain):
    inspect = viewer_client.get(
        reverse("stepmail_delivery_modeladmin_inspect", args=[uncertain.pk])
    )
    assert inspect.status_code == 200
    assert requeue_url(uncertain) not in inspect.content.decode()
    assert viewer_client.post(requeue_url(uncertain)).status_code == 403
    uncertain.refresh_from_db()
    assert uncertain.status == DeliveryStatus.UNCERTAIN


def test_listing_and_inspect_offer_requeue_for_uncertain_only(operator_client, uncertain, scenario):
    listing = operator_client.get(reverse(INDEX)).content.decode()
    assert requeue_url(uncertain) in listing
    assert requeue_url(scenario["sent"]) not in listing
    inspect = operator_client.get(
        reverse("stepmail_delivery_modeladmin_inspect", args=[uncertain.pk])
    )
    assert requeue_url(uncertain) in inspect.content.decode()


def test_deliveries_are_read_only(operator_client, scenario):
    sent = scenario["sent"]
    assert operator_client.get(reverse("stepmail_delivery_modeladmin_create")).status_code == 302
    operator_client.post(
        reverse("stepmail_delivery_modeladmin_edit", args=[sent.pk]), {"status": "scheduled"}
    )
    operator_client.post(reverse("stepmail_delivery_modeladmin_delete", args=[sent.pk]))
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.SENT
    listing = operator_client.get(reverse(INDEX)).content.decode()
    assert reverse("stepmail_delivery_modeladmin_edit", args=[sent.pk]) not in listing
    assert reverse("stepmail_delivery_modeladmin_delete", args=[sent.pk]) not in listing


def test_search_by_esp_id_and_email_and_filter_by_status_and_reason(
    operator_client, uncertain, scenario
):
    Delivery.objects.filter(pk=scenario["sent"].pk).update(reason="")
    Delivery.objects.filter(pk=uncertain.pk).update(reason="esp_timeout")
    by_id = operator_client.get(reverse(INDEX), {"q": "esp-0001"}).content.decode()
    assert "ご購入ありがとうございます" in by_id and "商品は届きましたか？" not in by_id
    by_email = operator_client.get(reverse(INDEX), {"q": "hanako@example.jp"}).content.decode()
    assert "ご購入ありがとうございます" in by_email and "商品は届きましたか？" in by_email
    by_status = operator_client.get(reverse(INDEX), {"status__exact": "uncertain"}).content.decode()
    assert "商品は届きましたか？" in by_status and "ご購入ありがとうございます" not in by_status
    by_reason = operator_client.get(reverse(INDEX), {"reason": "esp_timeout"}).content.decode()
    assert "商品は届きましたか？" in by_reason and "ご購入ありがとうございます" not in by_reason


def test_staff_without_permission_cannot_list(staff_client, scenario):
    assert staff_client.get(reverse(INDEX)).status_code == 302


def test_a_requeued_delivery_goes_out_with_the_next_dispatch(
    operator_client, uncertain, mailoutbox
):
    from stepmail_plugin.dispatch import dispatch_due

    operator_client.post(requeue_url(uncertain))
    result = dispatch_due(max_seconds=10)

    uncertain.refresh_from_db()
    assert result.sent == 1
    assert uncertain.status == DeliveryStatus.SENT
    assert uncertain.reason == ""
    assert [m.subject for m in mailoutbox] == ["商品は届きましたか？"]
