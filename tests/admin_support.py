"""Builders and fixtures for the admin tests (no tests here): real pages, records and users.

Test modules import the fixtures they use by name.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page

from stepmail_plugin.models import (
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    SequencePage,
    StepEmailPage,
)

PASSWORD = "not-a-secret"


def root_page() -> Page:
    """Wagtail's root page (put back if a transactional test's flush removed it)."""
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    root = Page.objects.filter(depth=1).first()
    if root is None:
        root = Page.add_root(instance=Page(title="Root", slug="root"))
    return root


def make_sequence(
    title: str = "購入後フォロー", trigger: str = "order_placed", **kwargs
) -> SequencePage:
    sequence = SequencePage(title=title, trigger=trigger, **kwargs)
    root_page().add_child(instance=sequence)
    return sequence


def add_step(
    sequence: SequencePage, subject: str, delay_value: int = 0, delay_unit: str = "days"
) -> StepEmailPage:
    step = StepEmailPage(
        title=subject, subject=subject, delay_value=delay_value, delay_unit=delay_unit
    )
    sequence.add_child(instance=step)
    return step


def make_contact(email: str = "hanako@example.jp", **kwargs) -> Contact:
    kwargs.setdefault("first_name", "花子")
    kwargs.setdefault("last_name", "山田")
    return Contact.objects.create(email=email, **kwargs)


def make_enrollment(contact: Contact, sequence: SequencePage, **kwargs) -> Enrollment:
    kwargs.setdefault("trigger", sequence.trigger)
    kwargs.setdefault("anchor_at", timezone.now() - timedelta(days=3))
    return Enrollment.objects.create(contact=contact, sequence=sequence, **kwargs)


def make_delivery(enrollment: Enrollment, step: StepEmailPage, **kwargs) -> Delivery:
    kwargs.setdefault("due_at", enrollment.anchor_at + step.delay)
    return Delivery.objects.create(enrollment=enrollment, step=step, step_path=step.path, **kwargs)


def make_staff(username: str, *perms: str):
    """A Wagtail admin user with admin access and only ``perms`` (``"stepmail.view_contact"``…)."""
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@shop.example.jp", password=PASSWORD, is_staff=True
    )
    group = Group.objects.create(name=f"{username} group")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    for perm in perms:
        app_label, codename = perm.split(".")
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    user.groups.add(group)
    return user


@pytest.fixture
def operator_client(client, django_user_model):
    """Logged in as a superuser."""
    user = django_user_model.objects.create_superuser(
        username="operator", email="operator@shop.example.jp", password=PASSWORD
    )
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client):
    """Logged in to the Wagtail admin without any step-mail permission."""
    client.force_login(make_staff("clerk"))
    return client


@pytest.fixture
def viewer_client(client):
    """May look at every step-mail record, change none."""
    client.force_login(
        make_staff(
            "viewer",
            "stepmail.view_contact",
            "stepmail.view_enrollment",
            "stepmail.view_delivery",
            "stepmail.view_suppression",
        )
    )
    return client


@pytest.fixture
def scenario(db):
    """One contact in a three-step sequence: the first mail sent, the second scheduled."""
    sequence = make_sequence()
    welcome = add_step(sequence, "ご購入ありがとうございます", 0)
    arrived = add_step(sequence, "商品は届きましたか？", 3)
    cross_sell = add_step(sequence, "おすすめのコーディネート", 5)
    contact = make_contact()
    enrollment = make_enrollment(contact, sequence)
    sent = make_delivery(
        enrollment,
        welcome,
        status=DeliveryStatus.SENT,
        sent_at=enrollment.anchor_at + timedelta(minutes=1),
        attempts=1,
        subject="花子様、ご購入ありがとうございます",
        to_email=contact.email,
        esp_message_id="esp-0001",
    )
    scheduled = make_delivery(enrollment, arrived)
    return {
        "sequence": sequence,
        "steps": [welcome, arrived, cross_sell],
        "contact": contact,
        "enrollment": enrollment,
        "sent": sent,
        "scheduled": scheduled,
    }


def active(enrollment: Enrollment) -> bool:
    enrollment.refresh_from_db()
    return enrollment.status == EnrollmentStatus.ACTIVE
