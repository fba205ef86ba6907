"""Own click tracking and open pixel (for backends without ESP tracking), UTM parameters, and
signed redirects that can only lead to the links of the mail they came from."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryEvent, TrackedLinkSet
from stepmail_plugin.tokens import UNSUBSCRIBE, make_token

from .factories import make_sequence, paragraph, place_order

pytestmark = pytest.mark.django_db

ARTICLE = "https://shop.example.jp/blog/linen-care/"
INSTAGRAM = "https://www.instagram.com/testshop/"
BODY = [
    paragraph(f'<p>新作の記事: <a href="{ARTICLE}">リネンのお手入れ</a></p>'
              '<p><a href="mailto:support@shop.example.jp">お問い合わせ</a></p>'),
    ("button", {"text": "Instagram", "page": None, "url": INSTAGRAM}),
]


@pytest.fixture
def own_tracking(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "TRACK_CLICKS": True, "TRACK_OPENS": True}


def send_to(*emails):
    make_sequence("記事で興味を測る", steps=[{"subject": "新作のご案内", "delay": 0, "body": BODY}])
    for email in emails:
        place_order(guest_email=email)
    dispatch_due()
    return {m.to[0]: m for m in mail.outbox}


def click_links(html):
    return re.findall(r'href="(https://shop\.example\.jp/stepmail/c/[^"]+)"', html)


def path_of(url):
    return urlsplit(url).path


def test_links_become_signed_redirects_and_lead_to_the_original_with_utm(client, own_tracking):
    sent = send_to("hanako@example.jp")
    message = sent["hanako@example.jp"]
    html, text = message.alternatives[0][0], message.body
    links = click_links(html)
    assert len(links) == 2 and ARTICLE not in html and INSTAGRAM not in html
    assert "mailto:support@shop.example.jp" in html  # not a web link: left alone
    assert "/stepmail/unsubscribe/" in html  # the unsubscribe link is never redirected
    assert all(link in text for link in links)  # the plain-text part is tracked too

    response = client.get(path_of(links[0]))
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target._replace(query="").geturl() == ARTICLE
    assert parse_qs(target.query) == {
        "utm_source": ["stepmail"], "utm_medium": ["email"],
        "utm_campaign": [Delivery.objects.get().enrollment.sequence.slug],
        "utm_content": [Delivery.objects.get().step.slug],
    }
    # Links to other sites get no UTM parameters.
    assert client.get(path_of(links[1]))["Location"] == INSTAGRAM

    delivery = Delivery.objects.get()
    assert delivery.clicked_at is not None and delivery.opened_at is not None
    assert sorted(DeliveryEvent.objects.values_list("url", flat=True)) == sorted(
        [response["Location"], INSTAGRAM])


def test_one_link_list_per_step_and_one_token_per_mail(own_tracking):
    sent = send_to("a@example.jp", "b@example.jp", "c@example.jp")
    assert TrackedLinkSet.objects.count() == 1
    tokens = {click_links(m.alternatives[0][0])[0].split("/c/")[1].split("/")[0] for m in sent.values()}
    assert len(tokens) == 3


def test_tampered_or_foreign_tokens_never_redirect(client, own_tracking):
    sent = send_to("hanako@example.jp")
    link = path_of(click_links(sent["hanako@example.jp"].alternatives[0][0])[0])
    token = link.split("/c/")[1].split("/")[0]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/stepmail/c/{tampered}/0/").status_code == 400
    # A valid token made for another purpose (the unsubscribe link) is worthless here.
    delivery = Delivery.objects.get()
    other = make_token(UNSUBSCRIBE, {"c": delivery.enrollment.contact_id, "d": delivery.pk, "l": 1})
    assert client.get(f"/stepmail/c/{other}/0/").status_code == 400
    # Only the mail's own links exist: no index beyond them, no URL in the link.
    assert client.get(f"/stepmail/c/{token}/2/").status_code == 404
    assert client.get(f"/stepmail/c/{token}/-1/").status_code == 404
    assert client.get(f"/stepmail/c/{token}/https://evil.example/").status_code == 404
    response = client.get(f"/stepmail/c/{token}/1/?next=https://evil.example/&url=https://evil.example/")
    assert response["Location"] == INSTAGRAM
    assert DeliveryEvent.objects.count() == 1
    assert client.post(f"/stepmail/c/{token}/0/").status_code == 405


def test_the_open_pixel_records_an_open(client, own_tracking):
    sent = send_to("hanako@example.jp")
    html = sent["hanako@example.jp"].alternatives[0][0]
    pixel = re.search(r'<img src="(https://shop\.example\.jp/stepmail/o/[^"]+)"', html).group(1)
    response = client.get(path_of(pixel))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert Delivery.objects.get().opened_at is not None
    assert client.get("/stepmail/o/forged/").status_code == 400


def test_with_an_esp_links_keep_their_address_and_get_utm(settings):
    # anymail's backends track themselves: by default no redirects and no pixel.
    sent = send_to("hanako@example.jp")
    html = sent["hanako@example.jp"].alternatives[0][0]
    assert not click_links(html) and "/stepmail/o/" not in html
    assert f'href="{ARTICLE}?utm_source=stepmail&amp;utm_medium=email' in html
    assert f'href="{INSTAGRAM}"' in html
    assert not TrackedLinkSet.objects.exists()


def test_an_unsubscribe_is_counted_against_the_mail_it_came_from(client):
    send_to("hanako@example.jp")
    message = mail.outbox[0]
    url = message.extra_headers["List-Unsubscribe"][1:-1]
    client.post(path_of(url), {"List-Unsubscribe": "One-Click"})
    event = DeliveryEvent.objects.get()
    assert (event.event_type, event.delivery_id, event.source) == ("unsubscribed", Delivery.objects.get().pk,
                                                                 "unsubscribe")
