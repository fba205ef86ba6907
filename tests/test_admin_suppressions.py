"""Suppressions: list, add, delete, and a CSV import that reports what it could not import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from stepmail_plugin.models import (
    Contact,
    DeliveryStatus,
    EnrollmentStatus,
    Suppression,
    SuppressionReason,
)

from .admin_support import make_staff

pytestmark = pytest.mark.django_db

IMPORT = "stepmail_suppression_modeladmin_import"
INDEX = "stepmail_suppression_modeladmin_index"


def upload(text: str, encoding: str = "utf-8", name: str = "list.csv"):
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def test_import_one_address_per_line(operator_client, db):
    Suppression.objects.create(email="known@example.com", reason=SuppressionReason.MANUAL)
    text = (
        "new@example.com\nNot an address\n\n  Known@Example.com \n"
        "new@example.com\nsecond@example.jp\n"
    )

    response = operator_client.post(reverse(IMPORT), {"file": upload(text), "reason": "manual"})

    assert response.status_code == 200
    assert set(Suppression.objects.values_list("email", "reason")) == {
        ("known@example.com", "manual"),
        ("new@example.com", "manual"),
        ("second@example.jp", "manual"),
    }
    assert Suppression.objects.get(email="new@example.com").sequence is None  # all marketing mail
    page = response.content.decode()
    assert (
        '<tr class="stepmail-invalid-line"><td>2</td><td><code>Not an address</code></td></tr>'
        in page
    )
    assert page.count("stepmail-invalid-line") == 1
    report = response.context["report"]
    assert report.created == ["new@example.com", "second@example.jp"]
    assert sorted(report.duplicates) == ["known@example.com", "new@example.com"]


def test_import_a_table_with_an_email_column_in_shift_jis(operator_client, db):
    text = "名前,email,備考\n山田 花子,hanako@example.jp,\n佐藤 太郎,taro@@example.jp,誤記\n"

    response = operator_client.post(
        reverse(IMPORT), {"file": upload(text, "cp932"), "reason": "unsubscribed"}
    )

    assert list(Suppression.objects.values_list("email", "reason")) == [
        ("hanako@example.jp", "unsubscribed")
    ]
    assert response.context["report"].invalid == [(3, "taro@@example.jp")]
    assert "taro@@example.jp" in response.content.decode()


def test_importing_unsubscribes_ends_known_contacts_marketing_mail(operator_client, scenario):
    text = "email\nhanako@example.jp\n"
    operator_client.post(reverse(IMPORT), {"file": upload(text), "reason": "unsubscribed"})

    contact = Contact.objects.get(email="hanako@example.jp")
    assert contact.unsubscribed_at is not None
    scenario["enrollment"].refresh_from_db()
    assert scenario["enrollment"].status == EnrollmentStatus.EXITED
    scenario["scheduled"].refresh_from_db()
    assert scenario["scheduled"].status == DeliveryStatus.CANCELLED


def test_import_rejects_other_reasons_and_unreadable_files(operator_client, db):
    response = operator_client.post(
        reverse(IMPORT), {"file": upload("a@example.com"), "reason": "bounced"}
    )
    assert response.context["form"].errors["reason"]
    response = operator_client.post(
        reverse(IMPORT),
        {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00\xd8\x00"), "reason": "manual"},
    )
    assert response.context["form"].errors["file"]
    assert not Suppression.objects.exists()


def test_import_needs_add_permission(staff_client, db):
    assert staff_client.get(reverse(IMPORT)).status_code == 403
    response = staff_client.post(
        reverse(IMPORT), {"file": upload("a@example.com"), "reason": "manual"}
    )
    assert response.status_code == 403
    assert not Suppression.objects.exists()


def test_listing_links_to_the_import_only_for_those_who_may_add(client, db):
    client.force_login(make_staff("looker", "stepmail.view_suppression"))
    assert reverse(IMPORT) not in client.get(reverse(INDEX)).content.decode()
    client.force_login(make_staff("adder", "stepmail.view_suppression", "stepmail.add_suppression"))
    assert reverse(IMPORT) in client.get(reverse(INDEX)).content.decode()


def test_add_normalises_the_address_and_refuses_a_duplicate(operator_client, db):
    url = reverse("stepmail_suppression_modeladmin_create")
    response = operator_client.post(
        url, {"email": " Someone@Example.COM ", "reason": "manual", "source": ""}
    )
    assert response.status_code == 302
    suppression = Suppression.objects.get()
    assert suppression.email == "someone@example.com"
    assert suppression.sequence is None
    assert suppression.source == "admin:operator"

    again = operator_client.post(
        url, {"email": "someone@example.com", "reason": "manual", "source": ""}
    )
    assert again.status_code == 200  # the form again, with an error
    assert Suppression.objects.count() == 1


def test_adding_a_global_unsubscribe_unsubscribes_the_contact(operator_client, scenario):
    operator_client.post(
        reverse("stepmail_suppression_modeladmin_create"),
        {"email": "hanako@example.jp", "reason": "unsubscribed", "source": "電話で依頼"},
    )
    contact = Contact.objects.get(email="hanako@example.jp")
    assert contact.unsubscribed_at is not None
    scenario["scheduled"].refresh_from_db()
    assert scenario["scheduled"].status == DeliveryStatus.CANCELLED


def test_delete_but_no_edit(operator_client, db):
    suppression = Suppression.objects.create(
        email="gone@example.com", reason=SuppressionReason.MANUAL
    )
    edit = operator_client.post(
        reverse("stepmail_suppression_modeladmin_edit", args=[suppression.pk]),
        {"email": "other@example.com", "reason": "manual"},
    )
    assert edit.status_code == 302
    assert Suppression.objects.get().email == "gone@example.com"

    operator_client.post(reverse("stepmail_suppression_modeladmin_delete", args=[suppression.pk]))
    assert not Suppression.objects.exists()


def test_staff_without_permission_cannot_add_or_delete(staff_client, db):
    suppression = Suppression.objects.create(
        email="kept@example.com", reason=SuppressionReason.MANUAL
    )
    staff_client.post(
        reverse("stepmail_suppression_modeladmin_create"),
        {"email": "x@example.com", "reason": "manual"},
    )
    staff_client.post(reverse("stepmail_suppression_modeladmin_delete", args=[suppression.pk]))
    assert list(Suppression.objects.values_list("email", flat=True)) == ["kept@example.com"]
