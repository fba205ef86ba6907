"""Staff enroll one person in a published sequence by hand, under the rules every trigger obeys:
consent, opt-outs and suppressions, re-entry and the holdout group — with permission checks."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from wagtail.models import ModelLogEntry

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import (
    ConsentStatus,
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    Suppression,
    SuppressionReason,
)
from stepmail_plugin.tracking.holdout import in_holdout

from .admin_support import add_step, make_contact, make_enrollment, make_sequence, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

ENROLL = "stepmail_enrollment_modeladmin_enroll"
INDEX = "stepmail_enrollment_modeladmin_index"


@pytest.fixture
def welcome():
    """A published marketing sequence with two steps, entered through ``enroll()``."""
    sequence = make_sequence("Welcome series", trigger="custom")
    add_step(sequence, "Welcome to our shop", 0)
    add_step(sequence, "Our best sellers", 2)
    return sequence


def enroll(client, sequence, email, **fields):
    return client.post(reverse(ENROLL), {"sequence": sequence.pk, "email": email, **fields})


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_the_listing_offers_the_form_and_a_new_address_enters_with_recorded_consent(
    operator_client, welcome, mailoutbox
):
    listing = operator_client.get(reverse(INDEX)).content.decode()
    assert reverse(ENROLL) in listing
    form = operator_client.get(reverse(ENROLL)).content.decode()
    assert "Welcome series" in form

    response = enroll(
        operator_client, welcome, " Aiko@Example.jp ", first_name="Aiko", last_name="Sato", consent="on"
    )

    enrollment = Enrollment.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("stepmail_enrollment_modeladmin_inspect", args=[enrollment.pk])
    assert "entered “Welcome series”" in said(response)
    contact = enrollment.contact
    assert (contact.email, contact.first_name, contact.last_name) == ("aiko@example.jp", "Aiko", "Sato")
    assert (contact.consent, contact.consent_source) == (ConsentStatus.OPTED_IN, "admin:operator")
    assert (enrollment.sequence_id, enrollment.status) == (welcome.pk, EnrollmentStatus.ACTIVE)
    assert ModelLogEntry.objects.filter(
        object_id=str(enrollment.pk), action="stepmail.enrollment.enroll_by_hand"
    ).exists()
    # The first step is queued like any trigger's, and goes out with the next dispatch.
    assert Delivery.objects.get().step.title == "Welcome to our shop"
    dispatch_due()
    assert [m.subject for m in mailoutbox] == ["Welcome to our shop"]


def test_marketing_mail_needs_consent_and_nothing_is_created_without_it(operator_client, welcome):
    response = enroll(operator_client, welcome, "new@example.jp")
    assert response.status_code == 200  # the form again, with what was typed
    assert "has not agreed to receive marketing mail" in said(response)
    assert 'value="new@example.jp"' in response.content.decode()
    assert not Enrollment.objects.exists()
    assert not Contact.objects.filter(email="new@example.jp").exists()


def test_a_contact_who_opted_in_before_needs_no_tick(operator_client, welcome):
    make_contact("hanako@example.jp", consent=ConsentStatus.OPTED_IN, consent_source="signup")
    enroll(operator_client, welcome, "hanako@example.jp")
    enrollment = Enrollment.objects.get()
    assert enrollment.contact.consent_source == "signup"  # unchanged


def test_transactional_sequences_need_no_marketing_consent(operator_client):
    guide = make_sequence("How to care for linen", trigger="custom", kind="transactional")
    add_step(guide, "Washing your linen shirt", 0)
    enroll(operator_client, guide, "buyer@example.jp")
    assert Enrollment.objects.get().sequence_id == guide.pk


def test_suppressed_and_unsubscribed_addresses_are_refused_even_with_the_tick(operator_client, welcome):
    Suppression.objects.create(email="blocked@example.jp", reason=SuppressionReason.MANUAL)
    response = enroll(operator_client, welcome, "blocked@example.jp", consent="on")
    assert "is on the suppression list (Added by staff)" in said(response)

    gone = make_contact("gone@example.jp", consent=ConsentStatus.OPTED_OUT)
    response = enroll(operator_client, welcome, "gone@example.jp", consent="on")
    assert "suppression list (Unsubscribed)" in said(response)
    gone.refresh_from_db()
    assert gone.consent == ConsentStatus.OPTED_OUT  # the tick never overrides an opt-out
    assert not Enrollment.objects.exists()


def test_already_enrolled_and_the_reentry_rule(operator_client, welcome):
    contact = make_contact(consent=ConsentStatus.OPTED_IN)
    running = make_enrollment(contact, welcome)
    response = enroll(operator_client, welcome, contact.email)
    assert "is already in “Welcome series”" in said(response)

    running.status, running.exit_reason = EnrollmentStatus.COMPLETED, "last_step"
    running.save()
    welcome.reentry = "once"
    welcome.save()
    response = enroll(operator_client, welcome, contact.email)
    assert "re-entry rule does not let them in again" in said(response)
    assert Enrollment.objects.count() == 1


def test_the_holdout_group_applies(operator_client, welcome):
    welcome.holdout_percent = 50
    welcome.save()
    held = next(
        c for c in (make_contact(f"p{i}@example.jp", consent=ConsentStatus.OPTED_IN) for i in range(40))
        if in_holdout(welcome.pk, c.pk, 50)
    )
    response = enroll(operator_client, welcome, held.email)
    enrollment = Enrollment.objects.get()
    assert (enrollment.holdout, enrollment.exit_reason) == (True, "holdout")
    assert "holdout group" in said(response)
    assert not Delivery.objects.exists()


def test_only_published_sequences_can_be_chosen(operator_client, welcome):
    draft = make_sequence("Draft idea", trigger="custom", live=False)
    add_step(draft, "Not yet", 0)
    form = operator_client.get(reverse(ENROLL)).content.decode()
    assert "Draft idea" not in form
    response = enroll(operator_client, draft, "x@example.jp", consent="on")
    assert response.status_code == 200 and not Enrollment.objects.exists()
    assert "Select a valid choice" in response.content.decode()


def test_the_contact_page_links_to_the_form_with_the_address_filled_in(operator_client, welcome):
    contact = make_contact()
    page = operator_client.get(
        reverse("stepmail_contact_modeladmin_inspect", args=[contact.pk])
    ).content.decode()
    link = f"{reverse(ENROLL)}?contact={contact.pk}"
    assert link in page
    assert 'value="hanako@example.jp"' in operator_client.get(link).content.decode()


def test_without_the_add_permission_there_is_no_form(client, staff_client, welcome):
    assert staff_client.get(reverse(ENROLL)).status_code == 403
    assert enroll(staff_client, welcome, "x@example.jp", consent="on").status_code == 403

    client.force_login(make_staff("viewer", "stepmail.view_enrollment"))
    assert reverse(ENROLL) not in client.get(reverse(INDEX)).content.decode()
    assert client.get(reverse(ENROLL)).status_code == 403
    assert enroll(client, welcome, "x@example.jp", consent="on").status_code == 403
    assert not Enrollment.objects.exists() and not Contact.objects.exists()

    clerk = make_staff("clerk2", "stepmail.view_enrollment", "stepmail.add_enrollment")
    client.force_login(clerk)
    assert reverse(ENROLL) in client.get(reverse(INDEX)).content.decode()
    known = make_contact("known@example.jp")
    # May enroll, may not look up contacts: an id does not reveal an address.
    assert "known@example.jp" not in client.get(f"{reverse(ENROLL)}?contact={known.pk}").content.decode()
    assert enroll(client, welcome, "x@example.jp", consent="on").status_code == 302
    assert Enrollment.objects.get().contact.consent_source == "admin:clerk2"
    assert Delivery.objects.get().status == DeliveryStatus.SCHEDULED
