"""What customers type — names on their account or on an order's address, values a shop passes to
enroll(), even their address — is escaped in every HTML place it reaches, shown as typed in plain
text, and can never add a mail header."""

import pytest
from django.core import mail
from django.test import Client
from oscar.test.factories import BillingAddressFactory, ShippingAddressFactory

from stepmail_plugin import enroll
from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Contact
from stepmail_plugin.tokens import UNSUBSCRIBE, make_token

from ..factories import make_sequence, make_user, paragraph, place_order

HOSTILE = '<img src=x onerror=alert(1)>"\'&{{ email }}'
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;&amp;"

EVERY_PLACE = [
    {
        "subject": "{{ full_name }}様",
        "preheader": "{{ first_name }}様へのお知らせ",
        "delay": 0,
        "body": [
            ("heading", "{{ full_name }}様"),
            paragraph("<p>{{ first_name }}様、{{ order_number|default:\"-\" }}</p>"),
            ("button", {"text": "{{ last_name }}様のマイページ", "page": None, "url": "https://shop.example.jp/"}),
        ],
    }
]


def html_of(message):
    return message.alternatives[0][0]


def assert_escaped(html):
    assert "<img" not in html and "onerror=alert(1)>" not in html
    assert ESCAPED in html
    assert "{{ email }}" in html.replace("&#123;", "{")  # shown as typed, not filled in


@pytest.mark.django_db
def test_names_from_an_order_address_are_escaped_in_every_html_place():
    make_sequence(steps=EVERY_PLACE)
    address = {"first_name": HOSTILE, "last_name": HOSTILE}
    place_order(guest_email="guest@example.jp", billing_address=BillingAddressFactory(**address),
                shipping_address=ShippingAddressFactory(**address))
    dispatch_due()
    (message,) = mail.outbox
    html = html_of(message)
    assert_escaped(html)
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert ESCAPED in title
    assert HOSTILE in message.body  # plain text: as typed
    assert message.subject.startswith(HOSTILE)  # a header is not HTML


@pytest.mark.django_db
def test_values_passed_to_enroll_are_escaped():
    make_sequence(trigger="custom", steps=EVERY_PLACE)
    enroll("custom@example.jp", "custom", context={"order_number": HOSTILE}, consent_source="test")
    dispatch_due()
    assert_escaped(html_of(mail.outbox[0]))


@pytest.mark.django_db
@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r", "\u2028"])
def test_a_line_break_in_a_name_cannot_add_a_header(newline):
    make_sequence(steps=EVERY_PLACE)
    user = make_user(email="hanako@example.jp", first_name=f"花子{newline}Bcc: everyone@example.jp",
                     last_name="山田")
    place_order(user=user)
    dispatch_due()
    (message,) = mail.outbox
    assert message.subject == "山田 花子 Bcc: everyone@example.jp様"
    assert message.bcc == [] and message.cc == []
    assert "Bcc" not in message.extra_headers
    assert message.message()["Subject"] is not None  # Django would refuse a multi-line header


@pytest.mark.django_db
def test_a_hostile_address_is_escaped_on_the_unsubscribe_page():
    contact = Contact.objects.create(email='"><script>alert(1)</script>@example.jp')
    token = make_token(UNSUBSCRIBE, {"c": contact.pk, "d": 1})
    response = Client().get(f"/stepmail/unsubscribe/{token}/")
    assert response.status_code == 200
    assert b"<script>" not in response.content
    assert b"&quot;&gt;***@example.jp" in response.content
