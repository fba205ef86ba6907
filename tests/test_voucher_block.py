"""Coupons: a unique single-use Oscar voucher per recipient, redeemable in a real basket,
never issued twice for one delivery, cleaned up after expiry when unused."""

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule
from oscar.apps.offer.applicator import Applicator
from oscar.core.loading import get_model
from oscar.test import factories as oscar_factories

from stepmail_plugin.commerce.vouchers import cleanup_expired_vouchers
from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, IssuedVoucher

from . import esp
from .factories import make_sequence
from .shop import basket_with, order, product, voucher_block, voucher_template

Voucher = get_model("voucher", "Voucher")


def code_in(message):
    return re.search(r'class="sm-coupon-code"[^>]*>([A-Z0-9-]+)<', message.alternatives[0][0]).group(1)


@pytest.fixture
def shirt():
    return product("リネンシャツ", 4800)


def coupon_sequence(template, **block):
    return make_sequence(steps=[{"subject": "クーポンをお届けします", "delay": 0,
                                 "body": [voucher_block(template, **block)]}])


@pytest.mark.django_db
def test_each_recipient_gets_their_own_single_use_code_with_its_expiry(shirt):
    template = voucher_template(valid_days=14, code_prefix="thanks")
    coupon_sequence(template, text="<p>{{ first_name|default:\"お客様\" }}様だけのクーポンです</p>")
    for n in range(3):
        order(shirt, guest_email=f"guest{n}@example.jp")
    sent_at = timezone.now()
    dispatch_due()

    codes = [code_in(m) for m in mail.outbox]
    assert len(set(codes)) == 3 and all(c.startswith("THANKS-") for c in codes)
    html, text = mail.outbox[0].alternatives[0][0], mail.outbox[0].body
    assert "10%オフ" in html  # the offer, in the shop's language (Japanese)
    assert "お客様様だけのクーポンです" in html
    assert f"{codes[0]}" in text
    for code in codes:
        voucher = Voucher.objects.get(code=code)
        assert voucher.usage == Voucher.SINGLE_USE
        assert voucher.offers.get() == template.offer
        assert timedelta(days=14) - timedelta(minutes=1) < voucher.end_datetime - sent_at < timedelta(days=14, minutes=1)
    expiry = timezone.localtime(Voucher.objects.get(code=codes[0]).end_datetime)
    assert f"{expiry.year}年{expiry.month}月{expiry.day}日" in html  # the expiry date, in Japanese
    assert IssuedVoucher.objects.count() == 3


@pytest.mark.django_db
def test_the_code_is_redeemable_once_in_a_real_oscar_basket(client, shirt):
    coupon_sequence(voucher_template())
    order(shirt, guest_email="guest@example.jp")
    dispatch_due()
    code = code_in(mail.outbox[0])

    # A shopper adds the product and types the code in Oscar's basket page.
    client.post(reverse("basket:add", kwargs={"pk": shirt.pk}), {"quantity": 1})
    response = client.post(reverse("basket:vouchers-add"), {"code": code}, follow=True)
    basket = response.context["basket"]
    assert [v.code for v in basket.vouchers.all()] == [code]
    assert basket.total_discount == D("480.00")

    # It is used in an order…
    voucher = Voucher.objects.get(code=code)
    paying = basket_with(shirt)
    paying.vouchers.add(voucher)
    Applicator().apply(paying, AnonymousUser())
    placed = oscar_factories.create_order(basket=paying, user=AnonymousUser(), guest_email="guest@example.jp")
    assert placed.total_discount_incl_tax == D("480.00")

    # …and cannot be used again.
    other = client_basket_with_code(client, shirt, code)
    assert other.total_discount == D("0")


def client_basket_with_code(client, item, code):
    client.cookies.clear()
    client.post(reverse("basket:add", kwargs={"pk": item.pk}), {"quantity": 1})
    response = client.post(reverse("basket:vouchers-add"), {"code": code}, follow=True)
    basket = response.context["basket"]
    assert not basket.vouchers.exists()  # Oscar refuses it: "This voucher has already been used"
    return basket


@pytest.mark.django_db
def test_a_retried_delivery_reuses_its_coupon(settings, shirt):
    settings.STEPMAIL = {**settings.STEPMAIL, "EMAIL_BACKEND": "tests.esp.FlakyEmailBackend"}
    esp.attempts.clear()
    coupon_sequence(voucher_template())
    order(shirt, guest_email="transient@example.jp")  # the ESP fails twice for this address
    start = timezone.now()
    for minutes in (0, 2, 5):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            dispatch_due()
    assert Delivery.objects.get().attempts == 3
    assert IssuedVoucher.objects.count() == 1 and Voucher.objects.count() == 1
    assert code_in(mail.outbox[-1]) == IssuedVoucher.objects.get().code


@pytest.mark.django_db
def test_new_terms_apply_to_new_coupons_and_sent_ones_keep_theirs(shirt):
    template = voucher_template()
    coupon_sequence(template)
    order(shirt, guest_email="first@example.jp")
    dispatch_due()
    first_offer = template.offer
    template.value = D("20")
    template.save()
    order(shirt, guest_email="second@example.jp")
    dispatch_due()
    first, second = (Voucher.objects.get(code=code_in(m)) for m in mail.outbox)
    assert first.offers.get() == first_offer and first_offer.benefit.value == D("10")
    assert second.offers.get().benefit.value == D("20")
    assert "20%" in mail.outbox[1].alternatives[0][0]


@pytest.mark.django_db
def test_free_shipping_and_fixed_amount_coupons(shirt):
    free = voucher_template("送料無料", discount_type="free_shipping", value=None, minimum_purchase=D("3000"))
    fixed = voucher_template("500円引き", discount_type="fixed", value=D("500"))
    make_sequence(steps=[{"subject": "クーポン", "delay": 0,
                          "body": [voucher_block(free), voucher_block(fixed)]}])
    order(shirt, guest_email="guest@example.jp")
    dispatch_due()
    html = mail.outbox[0].alternatives[0][0]
    assert "送料無料" in html  # our Japanese for a free-shipping coupon (not Oscar's 無料配送)
    assert "￥3,000" in html and "￥500" in html
    assert IssuedVoucher.objects.count() == 2


@pytest.mark.django_db
def test_expired_unused_coupons_are_cleaned_up_by_a_schedule(shirt):
    call_command("stepmail_setup")
    assert Schedule.objects.get(name="stepmail.vouchers").func == "stepmail_plugin.tasks.cleanup_vouchers"
    coupon_sequence(voucher_template(valid_days=7))
    order(shirt, guest_email="unused@example.jp")
    order(shirt, guest_email="used@example.jp")
    dispatch_due()
    used_code = code_in(next(m for m in mail.outbox if m.to == ["used@example.jp"]))
    basket = basket_with(shirt)
    basket.vouchers.add(Voucher.objects.get(code=used_code))
    Applicator().apply(basket, AnonymousUser())
    oscar_factories.create_order(basket=basket, user=AnonymousUser(), guest_email="used@example.jp")

    assert cleanup_expired_vouchers(timezone.now() + timedelta(days=8)) == 0  # grace period
    assert cleanup_expired_vouchers(timezone.now() + timedelta(days=40)) == 1
    assert list(Voucher.objects.values_list("code", flat=True)) == [used_code]
    # The record stays, so the delivery can never get a second coupon.
    assert IssuedVoucher.objects.count() == 2
    assert IssuedVoucher.objects.filter(voucher__isnull=True).count() == 1


@pytest.mark.django_db
def test_editors_create_coupon_templates_in_the_snippets_admin(client):
    from .editor import superuser

    client.force_login(superuser())
    url = reverse("wagtailsnippets_stepmail_vouchertemplate:add")
    response = client.post(url, {"name": "レビューのお礼", "discount_type": "percentage", "value": "150",
                                 "valid_days": "30", "code_prefix": "REVIEW"})
    assert response.status_code == 200  # more than 100 percent is refused
    response = client.post(url, {"name": "レビューのお礼", "discount_type": "fixed", "value": "1000",
                                 "minimum_purchase": "5000", "valid_days": "30", "code_prefix": "REVIEW"})
    assert response.status_code == 302
    from stepmail_plugin.models import VoucherTemplate

    offer = VoucherTemplate.objects.get().offer
    assert offer.offer_type == "Voucher" and offer.benefit.type == "Absolute"
    assert offer.benefit.value == D("1000") and offer.condition.value == D("5000")
    assert offer.benefit.range.includes_all_products
