"""The frequency cap set by an operator in the Wagtail admin (Settings → Step mail settings),
with ``STEPMAIL["FREQUENCY_CAPS"]`` as the fallback."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, StepmailBrandSettings

from .admin_support import operator_client  # noqa: F401 - fixture
from .builders import make_product, order_of, with_rules
from .factories import make_sequence, make_user, wagtail_root


def settings_url() -> str:
    wagtail_root()
    site = Site.objects.get(is_default_site=True)
    return reverse("wagtailsettings:edit", args=["stepmail", "stepmailbrandsettings", site.pk])


def save_in_admin(client, **fields):
    """Post the settings form as an operator would (every other field left empty)."""
    data = {"shop_name": "", "primary_color": "", "background_color": "", "text_color": "",
            "from_name": "", "from_email": "", "reply_to": "", "sender_name": "", "postal_address": "",
            "contact": "", "footer_text": "", "max_mails_per_day": "", "max_mails_per_week": ""}
    data.update({name: str(value) for name, value in fields.items()})
    return client.post(settings_url(), data)


def two_sequences():
    """A welcome series and an order follow-up, both marketing, the follow-up more important."""
    with_rules(make_sequence("ようこそ", "user_registered", steps=[{"subject": "ようこそ", "delay": 0}]), priority=10)
    with_rules(make_sequence("購入御礼", steps=[{"subject": "ご購入ありがとう", "delay": 0}]), priority=90)


def registers_and_orders(email="hanako@example.jp"):
    """A customer who registers and orders: a welcome mail and an order follow-up, both due now."""
    user = make_user(email=email, username=email.split("@")[0])
    order_of(make_product(), user=user)


@pytest.mark.django_db
def test_a_daily_cap_set_in_the_admin_holds_the_second_mail_until_the_next_day(operator_client):
    response = save_in_admin(operator_client, max_mails_per_day=1)
    assert response.status_code == 302
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        two_sequences()
        registers_and_orders()
        result = dispatch_due()
    assert (result.sent, result.delayed) == (1, 1)
    assert [m.subject for m in mail.outbox] == ["ご購入ありがとう"]  # the higher priority goes first
    waiting = Delivery.objects.get(status=DeliveryStatus.SCHEDULED)
    assert waiting.reason == "frequency_cap"
    assert waiting.due_at == start + timedelta(hours=24)
    with time_machine.travel(start + timedelta(hours=24, minutes=1), tick=False):
        assert dispatch_due().sent == 1
    assert [m.subject for m in mail.outbox] == ["ご購入ありがとう", "ようこそ"]


@pytest.mark.django_db
def test_the_admin_cap_replaces_the_settings_file_and_empty_fields_fall_back_to_it(operator_client, settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "FREQUENCY_CAPS": [(1, 24)]}
    two_sequences()
    save_in_admin(operator_client, max_mails_per_day=2)
    registers_and_orders("hanako@example.jp")
    assert dispatch_due().sent == 2  # the admin's two a day, not the file's one

    save_in_admin(operator_client)  # both emptied: the settings file's cap applies again
    registers_and_orders("taro@example.jp")
    result = dispatch_due()
    assert (result.sent, result.delayed) == (1, 1)
    assert result.reasons["delayed:frequency_cap"] == 1


@pytest.mark.django_db
def test_a_weekly_cap_counts_mails_of_the_last_seven_days(operator_client):
    save_in_admin(operator_client, max_mails_per_week=1)
    start = timezone.now()
    make_sequence("購入御礼", steps=[{"subject": "ありがとう", "delay": 0}])
    product = make_product()
    with time_machine.travel(start, tick=False):
        order_of(product, guest_email="weekly@example.jp")
        assert dispatch_due().sent == 1
    with time_machine.travel(start + timedelta(days=5), tick=False):  # 2 days' wait: within the 72 h limit
        order_of(product, guest_email="weekly@example.jp")
        result = dispatch_due()
    assert (result.sent, result.delayed) == (0, 1)
    assert Delivery.objects.get(status=DeliveryStatus.SCHEDULED).due_at == start + timedelta(days=7)


@pytest.mark.django_db
def test_a_cap_of_zero_is_refused_with_a_message_and_nothing_is_saved(operator_client):
    response = save_in_admin(operator_client, max_mails_per_day=0)
    assert response.status_code == 200
    assert "max_mails_per_day" in response.context["form"].errors
    site = Site.objects.get(is_default_site=True)
    assert StepmailBrandSettings.for_site(site).max_mails_per_day is None


@pytest.mark.django_db
def test_the_japanese_settings_page_shows_the_cap_fields(operator_client):
    html = operator_client.get(settings_url(), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "配信頻度の上限" in html
    assert "1日あたりの上限" in html and "1週間あたりの上限" in html
    assert "ステップメール設定" in html
