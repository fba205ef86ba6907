"""Editors without publish rights (Wagtail page permissions) cannot start, change or stop what
customers receive: a sequence or step goes live only when someone allowed to publish does it."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.test import Client
from wagtail.models import GroupPagePermission

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Enrollment, SequenceIndexPage, SequencePage, StepEmailPage

from ..factories import add_step, make_sequence, place_order
from .admin_forms import page_form_data


def person(name, *page_permissions):
    """A Wagtail user whose group has these permissions on the step-mail folder."""
    index = SequenceIndexPage.objects.get()
    group = Group.objects.create(name=name)
    group.permissions.add(Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"))
    for codename in page_permissions:
        GroupPagePermission.objects.create(
            group=group, page=index,
            permission=Permission.objects.get(content_type__app_label="wagtailcore", codename=codename),
        )
    user = get_user_model().objects.create_user(name, f"{name}@example.jp", "pw")
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


def editor():
    return person("editor", "add_page", "change_page")


def publisher():
    return person("publisher", "add_page", "change_page", "publish_page")


@pytest.fixture
def draft_sequence():
    """A sequence with a published step, the sequence itself not yet published."""
    sequence = make_sequence("下書きのシナリオ", steps=[{"subject": "ありがとう", "delay": 0}], publish=False)
    return sequence


@pytest.mark.django_db
def test_an_editor_cannot_publish_a_new_sequence(draft_sequence):
    index = SequenceIndexPage.objects.get()
    client = editor()
    url = f"/cms/pages/add/stepmail/sequencepage/{index.pk}/"
    data = page_form_data(client, url, title="新しいシナリオ", slug="new-scenario", trigger="order_placed")
    response = client.post(url, {**data, "action-publish": "1"})
    assert response.status_code == 302
    created = SequencePage.objects.get(title="新しいシナリオ")  # saved, as a draft
    assert not created.live
    add_step(created, subject="誰にも届かない")
    place_order(guest_email="guest@example.jp")
    assert not Enrollment.objects.exists()


@pytest.mark.django_db
def test_an_editor_cannot_publish_a_draft_sequence(draft_sequence):
    client = editor()
    data = page_form_data(client, f"/cms/pages/{draft_sequence.pk}/edit/")
    revisions = draft_sequence.revisions.count()
    response = client.post(f"/cms/pages/{draft_sequence.pk}/edit/", {**data, "action-publish": "1"})
    assert response.status_code == 302
    assert draft_sequence.revisions.count() == revisions + 1  # saved as a draft…
    draft_sequence.refresh_from_db()
    assert not draft_sequence.live  # …not published
    place_order(guest_email="guest@example.jp")
    assert not Enrollment.objects.exists()


@pytest.mark.django_db
def test_an_editor_cannot_change_or_stop_a_live_sequence():
    sequence = make_sequence(steps=[{"subject": "公開中の件名", "delay": 0}])
    step = StepEmailPage.objects.child_of(sequence).get()
    client = editor()
    data = page_form_data(client, f"/cms/pages/{step.pk}/edit/", subject="編集者の件名")
    response = client.post(f"/cms/pages/{step.pk}/edit/", {**data, "action-publish": "1"})
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.get_latest_revision().content["subject"] == "編集者の件名"  # a draft
    assert client.post(f"/cms/pages/{sequence.pk}/unpublish/", {}).status_code in (302, 403)
    sequence.refresh_from_db()
    assert sequence.live  # not paused by someone without the right
    place_order(guest_email="guest@example.jp")
    dispatch_due()
    assert [m.subject for m in mail.outbox] == ["公開中の件名"]  # the published step, not the draft


@pytest.mark.django_db
def test_a_publisher_can(draft_sequence):
    client = publisher()
    data = page_form_data(client, f"/cms/pages/{draft_sequence.pk}/edit/")
    response = client.post(f"/cms/pages/{draft_sequence.pk}/edit/", {**data, "action-publish": "1"})
    assert response.status_code == 302
    draft_sequence.refresh_from_db()
    assert draft_sequence.live
    place_order(guest_email="guest@example.jp")
    assert Enrollment.objects.filter(sequence=draft_sequence).count() == 1
