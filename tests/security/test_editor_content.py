"""Editor content cannot read secrets or private fields: merge fields are an allow-list, editor
text never reaches a template engine, and anything else is a validation error on save."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from wagtail.test.utils.form_data import rich_text, streamfield

from stepmail_plugin.models import StepEmailPage
from stepmail_plugin.rendering.merge import ALL_FIELDS, MergeSyntaxError, MergeTemplate, validate_merge_text

from ..factories import make_sequence
from .admin_forms import page_form_data

ATTACKS = [
    "{{ settings.SECRET_KEY }}",
    "{{settings.SECRET_KEY}}",
    "{{ SECRET_KEY }}",
    "{{ first_name.__class__.__mro__ }}",
    "{{ first_name.__init__.__globals__ }}",
    "{{ contact.user.password }}",
    "{{ order.user.password }}",
    "{{ enrollment.contact.email }}",
    "{{ request.META }}",
    "{{ first_name.upper }}",
    "{{ first_name|safe }}",
    "{{ first_name|escape }}",
    "{{ first_name|default:settings.SECRET_KEY }}",
    "{{ first_name|default:first_name.__class__ }}",
    '{{ first_name|default:"x"|safe }}',
    '{{ first_name|stringformat:"s" }}',
    "{% load static %}",
    '{% include "stepmail/mail/layout.html" %}',
    '{% ssi "/etc/passwd" %}',
    "{% debug %}",
    "{% now 'Y' %}",
    "{{ first_name }}{% if 1 %}x{% endif %}",
    "{# a comment hiding {{ settings.SECRET_KEY }} #}",
    "{{ {{ first_name }} }}",
    "{{ first_name",  # unbalanced: shown as typed, never parsed later
    "{{ first_name }}{{ 7*7 }}",
    "{{ ''.__class__ }}",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_anything_outside_the_allow_list_is_a_validation_error(text):
    if text == "{{ first_name":
        validate_merge_text(text)  # no merge field at all: plain text, rendered literally
        assert MergeTemplate(text, html=False).render({"first_name": "花子"}) == text
        return
    with pytest.raises(ValidationError):
        validate_merge_text(text)


PIECES = ATTACKS + ['{{ first_name }}', '{{ email|default:"x" }}', "様", " ", "{{", "}}", "{%", "%}", "|", ".",
                   "settings", "SECRET_KEY", '"', "&quot;"]


@hypothesis_settings(max_examples=300)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=5), max_size=12).map("".join))
def test_editor_text_either_fails_validation_or_reads_only_merge_values(text):
    """Whatever an editor types, rendering reads nothing but the allow-listed values it is given
    and never produces the secret key."""
    read = []

    class Values(dict):
        def get(self, key, default=None):
            read.append(key)
            return super().get(key, default)

    try:
        template = MergeTemplate(text, html=True)
    except MergeSyntaxError:
        return
    output = template.render(Values(first_name="<花子>", email="a@example.jp"))
    assert set(read) <= ALL_FIELDS
    assert settings.SECRET_KEY not in output
    assert "<花子>" not in output  # customer values are escaped in HTML


def _editor():
    user = get_user_model().objects.create_superuser("editor", "editor@example.jp", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value",
    [
        ("subject", "{{ settings.SECRET_KEY }}"),
        ("preheader", "{{ order.user.password }}"),
        ("body", streamfield([("heading", "{{ contact.user.password }}")])),
        ("body", streamfield([("paragraph", rich_text("<p>{% debug %}</p>"))])),
        ("body", streamfield([("paragraph", rich_text("<p>{{ first_name|safe }}</p>"))])),
        ("body", streamfield([("button", {"text": "{{ settings.SECRET_KEY }}", "page": "", "url": "https://shop.example.jp/"})])),
    ],
    ids=["subject", "preheader", "heading", "paragraph-tag", "paragraph-filter", "button"],
)
def test_the_admin_refuses_to_save_or_publish_such_content(field, value):
    sequence = make_sequence(steps=[{"subject": "ご購入ありがとうございます", "delay": 0}])
    step = StepEmailPage.objects.child_of(sequence).get()
    revisions = step.revisions.count()
    client = _editor()

    data = page_form_data(client, f"/cms/pages/{step.pk}/edit/", **{field: value})
    response = client.post(f"/cms/pages/{step.pk}/edit/", {**data, "action-publish": "1"})

    assert response.status_code == 200  # the form again, with the error
    assert b"error" in response.content
    assert step.revisions.count() == revisions  # nothing saved, not even a draft
    step.refresh_from_db()
    assert step.subject == "ご購入ありがとうございます"
    assert settings.SECRET_KEY.encode() not in response.content


@pytest.mark.django_db
def test_the_same_form_with_allowed_merge_fields_publishes():
    sequence = make_sequence(steps=[{"subject": "ご購入ありがとうございます", "delay": 0}])
    step = StepEmailPage.objects.child_of(sequence).get()
    client = _editor()
    data = page_form_data(client, f"/cms/pages/{step.pk}/edit/", subject='{{ first_name|default:"お客様" }}様')
    response = client.post(f"/cms/pages/{step.pk}/edit/", {**data, "action-publish": "1"})
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.subject == '{{ first_name|default:"お客様" }}様'


@pytest.mark.django_db
@pytest.mark.usefixtures("english")
def test_preview_of_content_that_bypassed_validation_shows_the_error_not_the_secret(rf):
    sequence = make_sequence(steps=[{"subject": "件名", "delay": 0}])
    StepEmailPage.objects.child_of(sequence).update(subject="{{ settings.SECRET_KEY }}<script>")
    step = StepEmailPage.objects.child_of(sequence).get()
    request = rf.get("/")
    request.user = get_user_model().objects.create_user("editor", "editor@example.jp", "pw")
    response = step.serve_preview(request, "html")
    assert b"is not a merge field" in response.content
    assert settings.SECRET_KEY.encode() not in response.content
    assert b"<script>" not in response.content
