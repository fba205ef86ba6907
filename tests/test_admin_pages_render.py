"""Every step-mail admin page renders for a superuser, and the menu links to them."""

import pytest
from django.urls import reverse

from stepmail_plugin.models import DeliveryStatus, Suppression, SuppressionReason

pytestmark = pytest.mark.django_db


def url(model: str, action: str, *args) -> str:
    return reverse(f"stepmail_{model}_modeladmin_{action}", args=args)


def test_menu_links_to_every_listing(operator_client, scenario):
    response = operator_client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    for model in ("contact", "enrollment", "delivery", "suppression"):
        assert url(model, "index") in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?q=hanako",
        "?consent__exact=unknown",
        "?state=receiving",
        "?state=unsubscribed",
        "?state=bounced",
        "?state=complained",
        "?state=manual",
        "?o=1",
    ],
)
def test_contact_listing(operator_client, scenario, query):
    response = operator_client.get(url("contact", "index") + query)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "query",
    ["", "?q=hanako", "?status__exact=active", "?trigger=order_placed", "?o=2"],
)
def test_enrollment_listing(operator_client, scenario, query):
    response = operator_client.get(url("enrollment", "index") + query)
    assert response.status_code == 200


def test_enrollment_listing_filters_by_sequence(operator_client, scenario):
    sequence = scenario["sequence"]
    response = operator_client.get(
        url("enrollment", "index") + f"?sequence__id__exact={sequence.pk}"
    )
    assert response.status_code == 200
    assert scenario["contact"].email in response.content.decode()


@pytest.mark.parametrize(
    "query", ["", "?q=esp-0001", "?q=hanako", "?status__exact=sent", "?reason=", "?o=4"]
)
def test_delivery_listing(operator_client, scenario, query):
    response = operator_client.get(url("delivery", "index") + query)
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["", "?q=example", "?reason__exact=manual"])
def test_suppression_listing(operator_client, scenario, query):
    Suppression.objects.create(email="nomail@example.jp", reason=SuppressionReason.MANUAL)
    response = operator_client.get(url("suppression", "index") + query)
    assert response.status_code == 200
    assert "nomail@example.jp" in response.content.decode()


def test_object_pages(operator_client, scenario):
    contact, enrollment = scenario["contact"], scenario["enrollment"]
    sent = scenario["sent"]
    sent.status = DeliveryStatus.FAILED
    sent.save()
    suppression = Suppression.objects.create(
        email="nomail@example.jp", reason=SuppressionReason.MANUAL
    )
    pages = [
        url("contact", "inspect", contact.pk),
        url("contact", "history", contact.pk),
        url("enrollment", "inspect", enrollment.pk),
        url("enrollment", "history", enrollment.pk),
        url("delivery", "inspect", sent.pk),
        url("delivery", "history", sent.pk),
        url("delivery", "requeue", sent.pk),
        url("delivery", "requeue", scenario["scheduled"].pk),  # explains why it cannot be requeued
        url("suppression", "create"),
        url("suppression", "delete", suppression.pk),
        url("suppression", "import"),
    ]
    for page in pages:
        response = operator_client.get(page)
        assert response.status_code == 200, page


def test_anonymous_visitors_are_sent_to_the_login(client, scenario):
    pages = [
        url("contact", "index"),
        url("enrollment", "pause", scenario["enrollment"].pk),
        url("delivery", "requeue", scenario["sent"].pk),
        url("suppression", "import"),
    ]
    for page in pages:
        response = client.post(page)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("wagtailadmin_login"))


def test_sequences_and_their_folder_offer_no_web_preview(operator_client, scenario):
    """They are not web pages: no preview button, and their draft and revisions are refused
    (Wagtail sends the user back to the dashboard) rather than failing to render a template."""
    from stepmail_plugin.models import SequencePage

    from .factories import _index

    sequence = SequencePage.objects.get()
    folder = _index()
    revision = sequence.save_revision()
    for page_id in (sequence.pk, folder.pk):
        edit = operator_client.get(reverse("wagtailadmin_pages:edit", args=[page_id]))
        assert edit.status_code == 200
        assert reverse("wagtailadmin_pages:preview_on_edit", args=[page_id]) not in edit.content.decode()
        refused = operator_client.get(reverse("wagtailadmin_pages:view_draft", args=[page_id]))
        assert (refused.status_code, refused.url) == (302, reverse("wagtailadmin_home"))
    refused = operator_client.get(reverse("wagtailadmin_pages:revisions_view", args=[sequence.pk, revision.pk]))
    assert (refused.status_code, refused.url) == (302, reverse("wagtailadmin_home"))


def test_the_lists_filters_and_counts_are_in_japanese(operator_client, scenario):
    """wagtail-modeladmin's own words on our lists, which its Japanese catalog lacks."""
    page = operator_client.get(url("enrollment", "index")).content.decode()
    assert "ステータス で絞り込む" in " ".join(page.split()) and "By " not in page
    assert "1 件中 1 件" in page
