"""Merge fields: allowed names only, defaults, and customer values escaped."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.rendering.merge import MergeTemplate, validate_merge_text

from .factories import add_step, make_sequence, make_user, paragraph, place_order


@pytest.mark.parametrize(
    "text",
    [
        "{{ unknown_field }}",
        "{{ settings.SECRET_KEY }}",
        "{{ user.password }}",
        "{{ first_name.__class__ }}",
        "{{ first_name|upper }}",
        "{{ first_name|default:request }}",
        "{% load static %}",
        "{% debug %}",
        "{{ first_name }} {# comment #}",
    ],
)
def test_anything_outside_the_allow_list_is_rejected(text):
    with pytest.raises(ValidationError):
        validate_merge_text(text)


@pytest.mark.django_db
def test_unknown_merge_field_is_rejected_when_the_page_is_saved():
    sequence = make_sequence(steps=[])
    with pytest.raises(ValidationError) as error:
        add_step(sequence, subject="{{ frist_name }}様へ")
    assert "frist_name" in str(error.value)
    with pytest.raises(ValidationError):
        add_step(sequence, subject="こんにちは", body=[paragraph("<p>{{ settings.SECRET_KEY }}</p>")])
    with pytest.raises(ValidationError):
        add_step(sequence, subject="こんにちは", body=[("heading", "{{ order.user.password }}")])


@pytest.mark.django_db
@pytest.mark.parametrize("block", [
    ("button", {"text": "見る", "url": "https://shop.example.jp/?q={{ settings.SECRET_KEY }}"}),
    ("button", {"text": "見る", "url": "https://shop.example.jp/{{x}}"}),
])
def test_merge_fields_in_links_are_checked_when_the_page_is_saved(block):
    """A link is part of the step's HTML, which is read for merge fields: an unknown one must be
    refused on save, not fail every recipient's mail later."""
    sequence = make_sequence(steps=[])
    with pytest.raises(ValidationError):
        add_step(sequence, subject="こんにちは", body=[block])


def test_defaults_fill_empty_values():
    template = MergeTemplate('{{ first_name|default:"お客様" }}様、{{ last_name }}', html=False)
    assert template.render({"first_name": "", "last_name": ""}) == "お客様様、"
    assert template.render({"first_name": "花子", "last_name": "山田"}) == "花子様、山田"
    # Rich text stores the quotes as entities; both spellings work.
    html = MergeTemplate("{{ first_name|default:&quot;お客様&quot; }}", html=True)
    assert html.render({}) == "お客様"


@pytest.mark.django_db
def test_customer_values_are_escaped_in_html_and_never_re_parsed():
    make_sequence(
        steps=[{"subject": "{{ first_name }}様", "delay": 0,
                "body": [("heading", "{{ full_name }}様"), paragraph("<p>{{ first_name }}</p>")]}]
    )
    user = make_user(email="xss@example.jp", first_name='<script>alert(1)</script>{{ email }}', last_name="&")
    place_order(user=user)
    dispatch_due()
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ email }}" in html.replace("&#123;", "{")  # shown as typed, not filled in
    assert "xss@example.jp</p>" not in html
    assert message.subject == "<script>alert(1)</script>{{ email }}様"  # plain text: not escaped
