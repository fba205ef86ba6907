"""The dispatcher reuses what a tick has already loaded and rendered (compiled steps, the shop's
products, rendered product and order blocks), but a change made between two batches still shows
in the very next mail, and customers whose mails look alike still each get their own.

The caches are used outside transactions only (as in a worker), so the first tests run without
the test-wide transaction; the change is made right after the ESP accepted the first batch's
mail, i.e. before the second batch loads (on PostgreSQL it is claimed while the first one sends,
and loads while the first one's record is written).
"""

import re
from contextlib import contextmanager

import pytest
from django.core import mail
from oscar.core.loading import get_model

from stepmail_plugin import dispatch
from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import StepEmailPage

from .factories import make_sequence, make_user, paragraph
from .shop import block, category, order, product, products_block

StockRecord = get_model("partner", "StockRecord")


def shown_titles(message):
    return re.findall(r'class="sm-product-title"[^>]*><a [^>]*>([^<]+)</a>', message.alternatives[0][0])


@contextmanager
def after_the_first_mail(change):
    """Run ``change`` once, as soon as the ESP accepted the first batch's mail."""
    done = []
    real_send = dispatch.send

    def send(message):
        outcome = real_send(message)
        if not done:
            done.append(message.to[0])
            change()
        return outcome

    dispatch.send = send
    try:
        yield done
    finally:
        dispatch.send = real_send


@pytest.mark.django_db(transaction=True)
def test_a_product_that_sells_out_between_two_batches_is_not_offered_in_the_next_mail():
    bottoms = category("Bottoms")
    shirt = product("リネンシャツ", 4800)
    pants = product("ワイドパンツ", 6800, categories=[bottoms])
    skirt = product("フレアスカート", 5800, categories=[bottoms])
    make_sequence(steps=[{"subject": "おすすめ", "delay": 0, "body": [
        products_block(sources=["handpicked"], handpicked=[pants, skirt], count=1)]}])
    order(shirt, guest_email="first@example.jp")
    order(shirt, guest_email="second@example.jp")

    def sell_out():
        record = StockRecord.objects.get(product=pants)
        record.num_in_stock = 0
        record.save()

    with after_the_first_mail(sell_out) as done:
        assert dispatch_due(batch_size=1).sent == 2  # two batches in one tick
    assert done
    assert [shown_titles(m) for m in mail.outbox] == [["ワイドパンツ"], ["フレアスカート"]]


@pytest.mark.django_db(transaction=True)
def test_a_price_change_between_two_batches_shows_in_the_next_mail():
    shirt, pants = product("リネンシャツ", 4800), product("ワイドパンツ", 6800)
    make_sequence(steps=[{"subject": "おすすめ", "delay": 0, "body": [
        products_block(sources=["handpicked"], handpicked=[pants], count=1)]}])
    order(shirt, guest_email="first@example.jp")
    order(shirt, guest_email="second@example.jp")

    def reprice():
        record = StockRecord.objects.get(product=pants)
        record.price = 5900
        record.save()

    with after_the_first_mail(reprice):
        dispatch_due(batch_size=1)
    first, second = (m.alternatives[0][0] for m in mail.outbox)
    assert "￥6,800" in first and "￥5,900" in second and "￥6,800" not in second


@pytest.mark.django_db(transaction=True)
def test_a_step_published_between_two_batches_goes_out_in_its_new_form():
    sequence = make_sequence(steps=[{"subject": "ご注文ありがとうございます", "delay": 0,
                                     "body": [paragraph("<p>最初の文面です。</p>")]}])
    shirt = product("リネンシャツ", 4800)
    order(shirt, guest_email="first@example.jp")
    order(shirt, guest_email="second@example.jp")

    def publish_new_revision():
        step = StepEmailPage.objects.child_of(sequence).get()
        step.subject = "新しい件名"
        step.body = [paragraph("<p>書き直した文面です。</p>")]
        step.save_revision().publish()

    with after_the_first_mail(publish_new_revision):
        assert dispatch_due(batch_size=1).sent == 2
    first, second = mail.outbox
    assert first.subject == "ご注文ありがとうございます" and "最初の文面です。" in first.body
    assert second.subject == "新しい件名" and "書き直した文面です。" in second.body
    assert "最初の文面" not in second.alternatives[0][0]


@pytest.mark.django_db
def test_customers_with_alike_orders_each_see_their_own_name_order_number_and_date():
    shirt = product("リネンシャツ", 4800)
    make_sequence(steps=[{"subject": "ご注文内容", "delay": 0, "body": [
        block("order_summary", heading="{{ first_name }}様のご注文", show_images=True, show_totals=True),
        products_block(sources=["handpicked"], handpicked=[product("ワイドパンツ", 6800)], count=1,
                       heading="{{ first_name }}様へのおすすめ"),
    ]}])
    hanako = make_user(email="hanako@example.jp", first_name="花子", username="hanako")
    taro = make_user(email="taro@example.jp", first_name="<b>太郎</b>", username="taro")
    placed = {"hanako@example.jp": order(shirt, user=hanako), "taro@example.jp": order(shirt, user=taro)}
    dispatch_due()
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        html, text = message.alternatives[0][0], message.body
        own = str(placed[message.to[0]].number)
        other = next(str(p.number) for email, p in placed.items() if email != message.to[0])
        assert own in html and own in text
        assert other not in html and other not in text
    hanako_html = next(m for m in mail.outbox if m.to == ["hanako@example.jp"]).alternatives[0][0]
    taro_message = next(m for m in mail.outbox if m.to == ["taro@example.jp"])
    assert "花子様のご注文" in hanako_html and "花子様へのおすすめ" in hanako_html
    assert "太郎" not in hanako_html
    # A customer's name is escaped in the shared rendering as everywhere else.
    assert "&lt;b&gt;太郎&lt;/b&gt;様のご注文" in taro_message.alternatives[0][0]
    assert "<b>太郎</b>" not in taro_message.alternatives[0][0]
    assert "<b>太郎</b>様のご注文" in taro_message.body


@pytest.mark.django_db(transaction=True)
def test_a_step_unpublished_between_two_batches_is_not_sent_in_the_next_one():
    sequence = make_sequence(steps=[{"subject": "ご注文ありがとうございます", "delay": 0,
                                     "body": [paragraph("<p>最初の文面です。</p>")]}])
    shirt = product("リネンシャツ", 4800)
    order(shirt, guest_email="first@example.jp")
    order(shirt, guest_email="second@example.jp")

    def unpublish():
        StepEmailPage.objects.child_of(sequence).get().unpublish()

    with after_the_first_mail(unpublish):
        result = dispatch_due(batch_size=1)
    assert result.sent == 1 and len(mail.outbox) == 1
    assert result.reasons.get("step_unpublished") == 1
