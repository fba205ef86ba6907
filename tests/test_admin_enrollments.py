"""Staff pause, resume and cancel an enrollment from its page (POST with CSRF token)."""

import pytest
from django.test import Client
from django.urls import reverse
from wagtail.models import ModelLogEntry

from stepmail_plugin.models import DeliveryStatus, EnrollmentStatus
from stepmail_plugin.signals import delivery_status_changed

from .admin_support import make_staff

pytestmark = pytest.mark.django_db


def action_url(action, enrollment):
    return reverse(f"stepmail_enrollment_modeladmin_{action}", args=[enrollment.pk])


def inspect_url(enrollment):
    return reverse("stepmail_enrollment_modeladmin_inspect", args=[enrollment.pk])


def test_inspect_page_offers_the_actions_as_post_forms(operator_client, scenario):
    enrollment = scenario["enrollment"]
    page = operator_client.get(inspect_url(enrollment)).content.decode()
    assert f'action="{action_url("pause", enrollment)}" method="post"' in page
    assert f'action="{action_url("cancel", enrollment)}" method="post"' in page
    assert action_url("resume", enrollment) not in page  # only a paused enrollment resumes
    assert "csrfmiddlewaretoken" in page
    assert "商品は届きましたか？" in page  # its deliveries
    # Cancelling cannot be undone: the browser asks first (pausing does not).
    cancel_form = page.split(f'action="{action_url("cancel", enrollment)}"', 1)[1].split(">", 1)[0]
    assert "window.confirm(" in cancel_form and "元に戻せません" in cancel_form
    pause_form = page.split(f'action="{action_url("pause", enrollment)}"', 1)[1].split(">", 1)[0]
    assert "confirm" not in pause_form


def test_pause_then_resume(operator_client, scenario):
    enrollment = scenario["enrollment"]

    response = operator_client.post(action_url("pause", enrollment), follow=True)
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.PAUSED
    assert response.redirect_chain[-1][0] == inspect_url(enrollment)
    assert action_url("resume", enrollment) in response.content.decode()
    # the scheduled mail waits, it is not cancelled
    assert (
        scenario["scheduled"].__class__.objects.get(pk=scenario["scheduled"].pk).status
        == DeliveryStatus.SCHEDULED
    )

    operator_client.post(action_url("resume", enrollment))
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE


def test_pause_is_recorded_in_the_history(operator_client, scenario):
    enrollment = scenario["enrollment"]
    operator_client.post(action_url("pause", enrollment))
    entry = ModelLogEntry.objects.get(
        object_id=str(enrollment.pk), action="stepmail.enrollment.pause"
    )
    assert entry.user.get_username() == "operator"
    history = operator_client.get(
        reverse("stepmail_enrollment_modeladmin_history", args=[enrollment.pk])
    )
    assert history.status_code == 200
    assert str(entry.message) in history.content.decode()


def test_cancel_ends_the_enrollment_and_its_scheduled_mail(
    operator_client, scenario, django_capture_on_commit_callbacks
):
    enrollment, sent, scheduled = scenario["enrollment"], scenario["sent"], scenario["scheduled"]
    announced = []

    def receiver(sender, delivery, old_status, new_status, **kwargs):
        announced.append((delivery.pk, old_status, new_status))

    delivery_status_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            operator_client.post(action_url("cancel", enrollment))
    finally:
        delivery_status_changed.disconnect(receiver)

    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.CANCELLED
    assert enrollment.exit_reason == "cancelled_by_staff"
    assert enrollment.ended_at is not None
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.reason) == (DeliveryStatus.CANCELLED, "cancelled_by_staff")
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.SENT  # history stays as it was
    assert announced == [(scheduled.pk, DeliveryStatus.SCHEDULED, DeliveryStatus.CANCELLED)]


def test_actions_on_an_ended_enrollment_change_nothing(operator_client, scenario):
    enrollment = scenario["enrollment"]
    enrollment.status = EnrollmentStatus.COMPLETED
    enrollment.exit_reason = "last_step"
    enrollment.save()
    for action in ("pause", "resume", "cancel"):
        assert operator_client.post(action_url(action, enrollment)).status_code == 302
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.COMPLETED, "last_step")
    page = operator_client.get(inspect_url(enrollment)).content.decode()
    assert action_url("cancel", enrollment) not in page


def test_actions_are_post_only(operator_client, scenario):
    enrollment = scenario["enrollment"]
    assert operator_client.get(action_url("cancel", enrollment)).status_code == 405
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE


def test_actions_need_the_csrf_token(db, scenario):
    enrollment = scenario["enrollment"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(
        make_staff("csrf-checked", "stepmail.change_enrollment", "stepmail.view_enrollment")
    )
    assert client.post(action_url("pause", enrollment)).status_code == 403
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE

    page = client.get(inspect_url(enrollment))
    token = page.cookies["csrftoken"].value
    assert (
        client.post(action_url("pause", enrollment), {"csrfmiddlewaretoken": token}).status_code
        == 302
    )
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.PAUSED


def test_staff_without_change_permission_get_403(staff_client, scenario):
    enrollment = scenario["enrollment"]
    for action in ("pause", "cancel"):
        assert staff_client.post(action_url(action, enrollment)).status_code == 403
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE
    # the modeladmin pages redirect to the dashboard
    assert staff_client.get(inspect_url(enrollment)).status_code == 302


def test_viewers_see_no_action_buttons_and_cannot_act(viewer_client, scenario):
    enrollment = scenario["enrollment"]
    page = viewer_client.get(inspect_url(enrollment))
    assert page.status_code == 200
    assert action_url("pause", enrollment) not in page.content.decode()
    assert viewer_client.post(action_url("pause", enrollment)).status_code == 403
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE


def test_listing_filters_by_status(operator_client, scenario):
    url = reverse("stepmail_enrollment_modeladmin_index")
    assert (
        "hanako@example.jp"
        in operator_client.get(url, {"status__exact": "active"}).content.decode()
    )
    assert (
        "hanako@example.jp"
        not in operator_client.get(url, {"status__exact": "paused"}).content.decode()
    )
    assert (
        "hanako@example.jp"
        in operator_client.get(url, {"trigger": "order_placed"}).content.decode()
    )
    assert (
        "hanako@example.jp"
        not in operator_client.get(url, {"trigger": "user_registered"}).content.decode()
    )
