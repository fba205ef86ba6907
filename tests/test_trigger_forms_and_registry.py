"""form_submitted (資料請求 on a Wagtail form page) and triggers added by the host project."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import stepmail_plugin
from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import ConsentStatus, Contact, Enrollment, SequencePage
from stepmail_plugin.triggers import Trigger, register, trigger_choices
from stepmail_plugin.triggers.registry import fire, registry
from tests.testapp.models import FormField, FormPage, WebinarAttendance

from .builders import sequence_with
from .factories import make_sequence, wagtail_root


def document_request_form(slug="shiryou"):
    home = wagtail_root().get_children().first()
    page = FormPage(title="資料請求", slug=slug, to_address="", from_address="", subject="")
    home.add_child(instance=page)
    page.save_revision().publish()
    FormField.objects.create(page=page, sort_order=0, label="会社名", clean_name="company", field_type="singleline",
                             required=False)
    FormField.objects.create(page=page, sort_order=1, label="メールアドレス", clean_name="mail", field_type="email")
    FormField.objects.create(page=page, sort_order=2, label="お知らせを受け取る", clean_name="consent",
                             field_type="checkbox", required=False)
    return FormPage.objects.get(pk=page.pk)


def submit(client, page, **data):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(page.url, data)
    assert response.status_code == 200
    return response


@pytest.mark.django_db
def test_submitting_the_chosen_form_enrolls_the_submitter_with_their_consent(client):
    form = document_request_form()
    follow_up = sequence_with("資料請求後フォロー", "form_submitted", [{"subject": "資料をお送りします"}],
                              form_page=form, form_consent_field="consent")
    submit(client, form, company="株式会社サンプル", mail="Buyer@Example.co.jp", consent="on")
    enrollment = Enrollment.objects.get(sequence=follow_up)
    contact = enrollment.contact
    assert contact.email == "buyer@example.co.jp"
    assert (contact.consent, contact.consent_source) == (ConsentStatus.OPTED_IN, f"form:{form.pk}")
    assert enrollment.trigger_object.form_data["company"] == "株式会社サンプル"
    submit(client, form, mail="buyer@example.co.jp", consent="on")
    assert Enrollment.objects.filter(sequence=follow_up).count() == 2  # once per submission


@pytest.mark.django_db
def test_without_consent_only_transactional_sequences_start(client):
    form = document_request_form()
    marketing = sequence_with("ウェビナー案内", "form_submitted", [{"subject": "案内"}],
                              form_page=form, form_consent_field="consent")
    documents = sequence_with("資料送付", "form_submitted", [{"subject": "資料"}], kind="transactional", form_page=form)
    submit(client, form, mail="quiet@example.jp")
    assert list(Enrollment.objects.values_list("sequence_id", flat=True)) == [documents.pk]
    assert Contact.objects.get().consent == ConsentStatus.UNKNOWN
    assert not Enrollment.objects.filter(sequence=marketing).exists()


@pytest.mark.django_db
def test_another_form_does_not_enroll(client):
    chosen, other = document_request_form("a"), document_request_form("b")
    sequence_with("A", "form_submitted", [{"subject": "A"}], kind="transactional", form_page=chosen)
    submit(client, other, mail="someone@example.jp")
    assert not Enrollment.objects.exists()


@pytest.mark.django_db
def test_a_form_sequence_needs_a_form_page():
    wagtail_root()
    sequence = SequencePage(title="資料請求", trigger="form_submitted")
    with pytest.raises(ValidationError) as error:
        sequence.full_clean()
    assert "form_page" in error.value.message_dict
    sequence.form_page = wagtail_root().get_children().first()  # a page, but not a form
    with pytest.raises(ValidationError):
        sequence.full_clean()


@pytest.fixture
def webinar_trigger():
    trigger = register(
        Trigger(
            "webinar_attended",
            _("Attended a webinar"),
            person=lambda attendance: attendance.email,
            anchor=lambda attendance: attendance.ended_at,
        )
    )
    yield trigger
    registry._triggers.pop(trigger.key, None)


@pytest.mark.django_db
def test_host_triggers_appear_in_the_editor_and_fire_with_their_own_contact_and_anchor(webinar_trigger):
    assert ("webinar_attended", "Attended a webinar") in [(k, str(v)) for k, v in trigger_choices()]
    sequence = make_sequence("ウェビナー参加御礼", "webinar_attended", steps=[{"subject": "ご参加ありがとうございました"}],
                             kind="transactional")
    ended = timezone.now() - timedelta(hours=1)
    attendance = WebinarAttendance.objects.create(email="Guest@Example.jp", ended_at=ended)
    created = fire("webinar_attended", attendance)
    assert [(e.sequence_id, e.contact.email, e.anchor_at) for e in created] == [(sequence.pk, "guest@example.jp", ended)]
    assert created[0].trigger_object == attendance
    again = WebinarAttendance.objects.create(email="guest@example.jp", ended_at=ended)
    assert fire("webinar_attended", again) == []  # once per person


@pytest.mark.django_db
def test_enroll_example_from_the_docs():
    make_sequence("ウェビナー後", "custom", steps=[{"subject": "資料"}])
    [enrollment] = stepmail_plugin.enroll("visitor@example.jp", "custom", context={"first_name": "太郎"},
                                          consent_source="webinar sign-up form")
    assert enrollment.context == {"first_name": "太郎"}
    assert enrollment.contact.consent_source == "webinar sign-up form"


@pytest.mark.django_db
def test_the_enrollment_context_fills_the_names_the_contact_does_not_have():
    make_sequence("ウェビナー後", "custom", steps=[{"subject": "{{ full_name }}様（{{ first_name }}）", "delay": 0}],
                  kind="transactional")
    stepmail_plugin.enroll("visitor@example.jp", "custom", context={"first_name": "太郎", "last_name": "山田"})
    Contact.objects.create(email="known@example.jp", first_name="花子", last_name="佐藤", language="ja")
    stepmail_plugin.enroll("known@example.jp", "custom", context={"first_name": "太郎", "last_name": "山田"})
    dispatch_due()
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("known@example.jp", "佐藤 花子様（花子）"),
        ("visitor@example.jp", "山田 太郎様（太郎）"),
    ]
