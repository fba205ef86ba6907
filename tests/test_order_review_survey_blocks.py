"""Order summary (order and abandoned basket), review request and survey blocks, in real mails."""

import re
from decimal import Decimal as D
from html import unescape

import pytest
from django.core import mail
from oscar.core.loading import get_model

import stepmail_plugin
from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import (
    Delivery,
    SurveyFormField,
    SurveyPage,
    SurveySubmission,
)

from .factories import make_sequence, make_user, wagtail_root
from .shop import basket_with, block, order, product, wagtail_image

ProductReview = get_model("reviews", "ProductReview")


def html_of(message):
    return message.alternatives[0][0]


@pytest.mark.django_db
def test_order_summary_shows_the_lines_and_totals_of_the_triggering_order():
    shirt, pants = product("リネンシャツ", 4800), product("ワイドパンツ", 6800)
    make_sequence(steps=[{"subject": "ご注文内容", "delay": 0, "body": [
        block("order_summary", heading="{{ first_name }}様のご注文", show_images=True, show_totals=True)]}])
    placed = order((shirt, 2), pants, user=make_user())
    dispatch_due()
    html, text = html_of(mail.outbox[0]), mail.outbox[0].body
    assert "花子様のご注文" in html
    assert str(placed.number) in html
    assert re.search(r"リネンシャツ</a><br><span[^>]*>[^<]*2", html)
    assert "￥9,600" in html and "￥6,800" in html and "￥16,400" in html
    assert re.search(r'<img [^>]*src="https://shop.example.jp/media/[^"]+" alt="リネンシャツ"', html)
    assert "リネンシャツ × 2  ￥9,600" in text


@pytest.mark.django_db
def test_order_summary_shows_the_discount_and_leaves_surcharges_out_of_the_subtotal():
    shirt, pants = product("リネンシャツ", 4800), product("ワイドパンツ", 6800)
    make_sequence(steps=[{"subject": "ご注文内容", "delay": 0, "body": [
        block("order_summary", heading="ご注文", show_images=False, show_totals=True)]}])
    placed = order((shirt, 2), pants, user=make_user())
    get_model("order", "OrderDiscount").objects.create(order=placed, offer_name="春のセール", amount=D("500"))
    get_model("order", "Surcharge").objects.create(order=placed, name="代引き手数料", code="cod",
                                                  incl_tax=D("330"), excl_tax=D("300"))
    placed.total_incl_tax = D("16230")  # 16,400 − 500 + 330
    placed.save()
    dispatch_due()
    html = html_of(mail.outbox[0])
    assert "−￥500" in html
    assert "￥15,900" in html  # the subtotal: the total without shipping and the surcharge
    assert "￥16,230" in html


@pytest.mark.django_db
def test_order_summary_of_an_abandoned_basket():
    shirt = product("リネンシャツ", 4800)
    make_sequence("カゴ落ち", "custom", [{"subject": "カートに商品が残っています", "delay": 0, "body": [
        block("order_summary", heading="カートの中身", show_images=False, show_totals=True)]}])
    basket = basket_with((shirt, 3))
    stepmail_plugin.enroll("cart@example.jp", "custom", obj=basket, consent_source="会員登録")
    dispatch_due()
    html = html_of(mail.outbox[0])
    assert "カートの中身" in html and "リネンシャツ" in html and "￥14,400" in html
    assert "sm-order-meta" not in html  # no order number for a basket


@pytest.mark.django_db
def test_review_request_links_to_oscars_review_form_for_products_not_reviewed_yet():
    shirt, pants = product("リネンシャツ", 4800), product("ワイドパンツ", 6800)
    customer = make_user()
    ProductReview.objects.create(product=pants, user=customer, title="良い", body="良い", score=5)
    make_sequence(steps=[{"subject": "レビューのお願い", "delay": 0, "body": [
        block("review_request", heading="レビューをお願いします", text="<p>ご感想をどうぞ</p>", button_text="レビューを書く")]}])
    order(shirt, pants, user=customer)
    dispatch_due()
    html = unescape(html_of(mail.outbox[0]))
    links = re.findall(r'href="(https://shop.example.jp/shop/catalogue/[^"]+/reviews/add/[^"]*)"', html)
    assert len(links) == 1 and f"_{shirt.pk}/reviews/add/" in links[0]
    assert "utm_content=review" in links[0]
    assert "ワイドパンツ" not in html  # already reviewed


def survey_page():
    home = wagtail_root().get_children().first()
    page = SurveyPage(title="着心地アンケート", slug="survey", thank_you_text="<p>ありがとうございました</p>")
    home.add_child(instance=page)
    SurveyFormField.objects.create(page=page, label="満足度", field_type="singleline", required=True)
    page.save_revision().publish()
    return SurveyPage.objects.get(pk=page.pk)


def answer_field(survey):
    return survey.form_fields.get().clean_name


@pytest.mark.django_db
def test_survey_answers_record_the_customer_and_the_mail(client):
    survey = survey_page()
    make_sequence(steps=[{"subject": "アンケートのお願い", "delay": 0, "body": [
        block("survey", page=survey.pk, heading="ご感想を", text="", button_text="答える")]}])
    order(product("リネンシャツ"), guest_email="guest@example.jp")
    dispatch_due()
    link = unescape(re.search(r'href="([^"]+\?r=[^"]+)"', html_of(mail.outbox[0])).group(1))
    assert link.startswith("https://shop.example.jp/survey/?r=")
    path = link.replace("https://shop.example.jp", "")

    form_page = client.get(path)
    token = re.search(r'name="stepmail_respondent" value="([^"]+)"', form_page.content.decode()).group(1)
    response = client.post(survey.url, {"stepmail_respondent": token, answer_field(survey): "ぴったりです"})
    assert "ありがとうございました" in response.content.decode()
    answer = SurveySubmission.objects.get()
    delivery = Delivery.objects.get()
    assert (answer.contact, answer.delivery, answer.is_test) == (delivery.enrollment.contact, delivery, False)
    assert list(answer.form_data.values()) == ["ぴったりです"]

    # One answer per customer: the link now shows the thank-you page.
    again = client.get(path)
    assert "stepmail_respondent" not in again.content.decode()

    # A forged token is not trusted: the answer is anonymous.
    client.post(survey.url, {"stepmail_respondent": token[:-2] + "xx", answer_field(survey): "偽物"})
    assert SurveySubmission.objects.filter(contact__isnull=True).count() == 1


@pytest.mark.django_db
def test_two_column_text_and_image_and_spacer_render_in_both_parts():
    image = wagtail_image("コーデ例")
    make_sequence(steps=[{"subject": "コーディネート", "delay": 0, "body": [
        block("text_image", image=image.pk, alt_text="白シャツとデニム", text="<p>{{ first_name }}様へ</p>",
              image_position="right", link=""),
        block("spacer", height="32"),
    ]}])
    order(product("リネンシャツ"), user=make_user())
    dispatch_due()
    html, text = html_of(mail.outbox[0]), mail.outbox[0].body
    assert 'dir="rtl"' in html and 'alt="白シャツとデニム"' in html and "花子様へ" in html
    assert "sm-spacer" in html
    assert "[白シャツとデニム]" in text and "花子様へ" in text


@pytest.mark.django_db
def test_prices_follow_the_order_currency():
    shirt = product("Linen shirt", "48.00", currency="EUR")
    euro_only = product("Scarf", "20.00", currency="EUR")
    yen_only = product("Socks", 900)
    from .shop import products_block, recommend

    recommend(shirt, yen_only, euro_only)
    make_sequence(steps=[{"subject": "x", "delay": 0, "body": [products_block(sources=["recommended"], count=2)]}])
    placed = order(shirt, guest_email="eu@example.jp")
    assert placed.currency == "EUR"
    dispatch_due()
    html = html_of(mail.outbox[0])
    assert "Scarf" in html and "€" in html
    assert "Socks" not in html  # priced in yen only
    assert placed.total_incl_tax == D("48.00")


@pytest.mark.django_db
def test_the_order_date_is_the_customers_own_day_in_merge_fields_and_in_the_order_summary():
    """An order placed at 01:30 on 1 December in Tokyo (the shop's zone) is still 30 November
    for a customer in Los Angeles: the subject's merge field and the order summary agree."""
    from datetime import UTC, datetime

    from stepmail_plugin.models import Contact

    make_sequence(steps=[{"subject": "{{ order_date }}のご注文", "delay": 0, "body": [
        block("order_summary", heading="ご注文", show_images=False, show_totals=False)]}])
    placed = order(product("リネンシャツ", 4800), user=make_user())
    type(placed).objects.filter(pk=placed.pk).update(date_placed=datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    Contact.objects.filter(email="hanako@example.jp").update(timezone="America/Los_Angeles")
    dispatch_due()
    message = mail.outbox[0]
    assert message.subject == "2026年11月30日のご注文"
    assert "2026年11月30日" in message.body and "12月1日" not in message.body
    assert "12月1日" not in html_of(message)
