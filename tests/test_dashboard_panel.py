"""The step-mail panel on the Wagtail dashboard: sends today, the last 7 days' open and click rates,
and the mails that need attention (failed or uncertain) with a link to them for staff who may
see deliveries."""

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import timezone

from stepmail_plugin.models import Contact, Delivery, DeliveryStatus, Enrollment

from .editor import editor, superuser
from .factories import make_sequence

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def activity():
    """Today: 4 sent (2 opened, 1 clicked). Needing a look: 1 failed today, 1 uncertain. Not any
    more: 1 failed 10 days ago."""
    sequence = make_sequence("フォロー", steps=[{"subject": "ありがとう", "delay": 0}])
    step = sequence.get_steps().get()
    now = timezone.now()

    def delivery(i, status, **fields):
        contact = Contact.objects.create(email=f"c{i}@example.jp")
        enrollment = Enrollment.objects.create(sequence=sequence, contact=contact, trigger="order_placed",
                                               anchor_at=now)
        return Delivery.objects.create(enrollment=enrollment, step=step, step_path=step.path, status=status,
                                       due_at=now, **fields)

    for i in range(4):
        delivery(i, DeliveryStatus.SENT, sent_at=now, opened_at=now if i < 2 else None,
                 clicked_at=now if i < 1 else None)
    delivery(4, DeliveryStatus.FAILED, reason="esp_rejected")
    delivery(5, DeliveryStatus.UNCERTAIN)
    old = delivery(6, DeliveryStatus.FAILED, reason="esp_rejected")
    Delivery.objects.filter(pk=old.pk).update(updated_at=now - timedelta(days=10))
    return sequence


def panel(client):
    page = BeautifulSoup(client.get(reverse("wagtailadmin_home")).content, "html.parser")
    return page.find(attrs={"data-stepmail-dashboard": True})


def metric(found, name):
    return found.find(attrs={"data-metric": name}).get_text(" ", strip=True)


def test_sends_rates_and_what_needs_attention(client, activity):
    client.force_login(superuser())
    found = panel(client)
    assert metric(found, "sent_today") == "4 mails sent today"
    assert metric(found, "week").startswith("Last 7 days: 4 sent, 50.0% opened, 25.0% clicked")
    attention = found.find(attrs={"data-metric": "attention"})
    text = " ".join(attention.get_text(" ", strip=True).split())
    assert text.startswith("2 mails need attention")
    assert "1 failed in the last 7 days (esp_rejected: 1)" in text
    assert "1 may or may not have gone out" in text

    link = attention.find("a")["href"]
    assert link == reverse("stepmail_delivery_modeladmin_index") + "?attention=recent"
    listed = client.get(link).content.decode()
    assert "c4@example.jp" in listed and "c5@example.jp" in listed
    assert "c6@example.jp" not in listed and "c0@example.jp" not in listed


def test_editors_see_the_counts_without_the_link(client, activity):
    client.force_login(editor(activity.get_parent()))
    attention = panel(client).find(attrs={"data-metric": "attention"})
    assert attention.get_text(" ", strip=True).startswith("2 mails need attention")
    assert attention.find("a") is None


def test_nothing_to_look_at_means_no_attention_line(client):
    make_sequence("空", steps=[{"subject": "x", "delay": 0}])
    client.force_login(superuser())
    found = panel(client)
    assert metric(found, "sent_today") == "0 mails sent today"
    assert found.find(attrs={"data-metric": "attention"}) is None


def test_mails_dated_later_are_not_counted(client, activity):
    """After a demo moved the clock forward and back (./example.sh --simulate), mails dated in
    the days ahead are neither "today" nor "the last 7 days"."""
    later = Delivery.objects.filter(status=DeliveryStatus.SENT).first()
    Delivery.objects.create(enrollment=later.enrollment, step=None, step_path=later.step_path + "0001",
                            status=DeliveryStatus.SENT, due_at=later.due_at,
                            sent_at=timezone.now() + timedelta(days=3))
    client.force_login(superuser())
    found = panel(client)
    assert metric(found, "sent_today") == "4 mails sent today"
    assert metric(found, "week").startswith("Last 7 days: 4 sent")
