"""Brand and legal details from Wagtail site settings, with STEPMAIL["BRAND"] as the fallback."""

import pytest
from django.core import mail
from django.core.checks import run_checks
from wagtail.models import Site

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import StepmailBrandSettings

from .factories import make_sequence, wagtail_root
from .shop import order, product, wagtail_image


def brand_settings(**fields):
    wagtail_root()
    site = Site.objects.get(is_default_site=True)
    settings_obj = StepmailBrandSettings.for_site(site)
    for name, value in fields.items():
        setattr(settings_obj, name, value)
    settings_obj.full_clean()
    settings_obj.save()
    return settings_obj


def send_one():
    button = {"type": "button", "value": {"text": "ショップへ", "page": None, "url": "https://shop.example.jp/"}}
    make_sequence(steps=[{"subject": "ありがとう", "delay": 0, "body": [button]}])
    order(product("リネンシャツ"), guest_email="guest@example.jp")
    dispatch_due()
    return mail.outbox[-1]


@pytest.mark.django_db
def test_site_settings_win_over_the_settings_file():
    brand_settings(
        sender_name="株式会社サイト設定", postal_address="大阪府大阪市北区1-1", contact="0120-000-000",
        footer_text="このメールはご購入いただいた方にお送りしています。",
        from_name="サイト設定ショップ", from_email="news@shop.example.jp", reply_to="support@shop.example.jp",
        primary_color="#0f766e", logo=wagtail_image("ロゴ"),
    )
    message = send_one()
    html = message.alternatives[0][0]
    assert message.from_email == "サイト設定ショップ <news@shop.example.jp>"
    assert message.extra_headers["Reply-To"] == "support@shop.example.jp"
    for text in ("株式会社サイト設定", "大阪府大阪市北区1-1", "0120-000-000", "ご購入いただいた方にお送りしています"):
        assert text in html and text in message.body
    assert "株式会社テストショップ" not in html  # STEPMAIL["BRAND"] only fills what is empty
    assert "background-color:#0f766e" in html.replace(" ", "")  # the button in the brand's colour
    assert 'src="https://shop.example.jp/media/images/' in html  # the logo


@pytest.mark.django_db
def test_the_shop_name_merge_field_is_the_name_the_settings_give(client):
    """{{ shop_name }} and the layout name the shop the same way: the site settings' name first —
    in real mails, test mails and the web version alike."""
    from django.urls import reverse

    from stepmail_plugin.models import Delivery
    from stepmail_plugin.tokens import WEB_VERSION, make_token

    brand_settings(shop_name="こもれび洋品店")
    make_sequence(steps=[{"subject": "【{{ shop_name }}】ご購入ありがとうございます", "delay": 0,
                          "body": [("heading", "{{ shop_name }}へようこそ")]}])
    order(product("リネンシャツ"), guest_email="guest@example.jp")
    dispatch_due()
    message = mail.outbox[-1]
    assert message.subject == "【こもれび洋品店】ご購入ありがとうございます"
    assert "こもれび洋品店へようこそ" in message.alternatives[0][0] and "こもれび洋品店へようこそ" in message.body
    token = make_token(WEB_VERSION, {"d": Delivery.objects.get().pk})
    page = client.get(reverse("stepmail:web_version", args=[token])).content.decode()
    assert "こもれび洋品店へようこそ" in page


@pytest.mark.django_db
def test_empty_site_settings_fall_back_to_the_settings_file():
    brand_settings(contact="")
    message = send_one()
    assert "株式会社テストショップ" in message.body and "東京都中央区銀座1-2-3" in message.body
    assert message.from_email == "shop@shop.example.jp"
    assert "Reply-To" not in message.extra_headers


@pytest.mark.django_db
def test_a_system_check_warns_when_the_legal_footer_is_incomplete(settings):
    settings.STEPMAIL = {**settings.STEPMAIL, "BRAND": {"sender_name": "株式会社テストショップ"}}
    wagtail_root()
    warnings = [w for w in run_checks() if w.id == "stepmail.W007"]
    assert len(warnings) == 1 and "postal_address" in warnings[0].msg and "contact" in warnings[0].msg
    brand_settings(postal_address="東京都中央区銀座1-2-3", contact="support@shop.example.jp")
    assert not [w for w in run_checks() if w.id == "stepmail.W007"]


@pytest.mark.django_db
def test_merge_fields_in_the_layout_texts_are_checked_on_save():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        brand_settings(footer_text="{{ settings.SECRET_KEY }}")
    assert "footer_text" in error.value.message_dict
    # An allowed field is fine there: the footer can name the address it was sent to.
    brand_settings(footer_text="このメールは {{ email }} 宛にお送りしています。")
    assert "このメールは guest@example.jp 宛にお送りしています。" in send_one().body


@pytest.mark.django_db
def test_braces_in_an_image_title_do_not_break_the_mail():
    """An image's title (the alt text when the editor gives none) comes from the image library,
    not from merge text: it is shown as it reads."""
    image = wagtail_image("{{ 新作 }}バナー")
    make_sequence(steps=[{"subject": "新作", "delay": 0, "body": [
        {"type": "image", "value": {"image": image.pk, "alt_text": "", "link": ""}}]}])
    order(product("リネンシャツ"), guest_email="guest@example.jp")
    dispatch_due()
    (message,) = mail.outbox
    assert 'alt="{ { 新作 } }バナー"' in message.alternatives[0][0]
