"""Cross-sell and upsell in mails: real Oscar products, stock, recommendations and orders."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stepmail_plugin.dispatch import dispatch_due

from .factories import make_sequence, make_user, run_follow_ups
from .shop import category, order, product, products_block, recommend


def sent_html():
    return mail.outbox[-1].alternatives[0][0]


def shown_titles(html):
    return re.findall(r'class="sm-product-title"[^>]*><a [^>]*>([^<]+)</a>', html)


@pytest.fixture
def shop():
    tops, bottoms, shoes = category("Tops"), category("Bottoms"), category("Shoes")
    items = {
        "shirt": product("リネンシャツ", 4800, categories=[tops]),
        "pants": product("ワイドパンツ", 6800, categories=[bottoms]),
        "skirt": product("フレアスカート", 5800, categories=[bottoms]),
        "sold_out": product("レザーベルト", 3000, stock=0, categories=[bottoms]),
        "hidden": product("非公開の試作品", 3000, public=False, categories=[bottoms]),
        "sneakers": product("キャンバススニーカー", 7800, categories=[shoes]),
        "premium_shirt": product("プレミアムシャツ", 6500, categories=[tops]),
        "luxury_shirt": product("カシミヤシャツ", 12000, categories=[tops]),
        "tee": product("Tシャツ", 2800, categories=[tops]),
    }
    items["tops"], items["bottoms"] = tops, bottoms
    return items


def sequence_with(*blocks):
    return make_sequence(steps=[{"subject": "{{ first_name }}様に合うボトムはこれです", "delay": 0, "body": list(blocks)}])


@pytest.mark.django_db
def test_recommendations_by_ranking_skip_what_cannot_be_bought_and_keep_the_count(shop):
    recommend(shop["shirt"], shop["sold_out"], shop["hidden"], shop["pants"], shop["skirt"], shop["sneakers"])
    sequence = sequence_with(products_block(sources=["recommended"], count=3))
    order(shop["shirt"], user=make_user())
    dispatch_due()

    html = sent_html()
    # Sold out and hidden products are replaced by the next candidates, in ranking order.
    assert shown_titles(html) == ["ワイドパンツ", "フレアスカート", "キャンバススニーカー"]
    assert "レザーベルト" not in html and "非公開の試作品" not in html
    assert "リネンシャツ" not in shown_titles(html)  # what they bought is not suggested
    assert "￥6,800" in html  # the price in the order's currency, in the recipient's language
    image = re.search(r'<img [^>]*src="([^"]+)" alt="ワイドパンツ"', html).group(1)
    assert image.startswith("https://shop.example.jp/media/")
    link = re.search(r'<a href="([^"]+)"[^>]*>ワイドパンツ</a>', html).group(1)
    parts = urlsplit(link.replace("&amp;", "&"))
    assert parts.netloc == "shop.example.jp" and parts.path == shop["pants"].get_absolute_url()
    assert parse_qs(parts.query) == {
        "utm_source": ["stepmail"], "utm_medium": ["email"],
        "utm_campaign": [sequence.slug], "utm_content": ["products"],
    }
    text = mail.outbox[-1].body
    assert "ワイドパンツ ￥6,800" in text and "https://shop.example.jp" + shop["pants"].get_absolute_url() in text


@pytest.mark.django_db
def test_product_links_get_utm_parameters_only_on_the_configured_hosts(shop, settings):
    """The same rule as the editor's links: STEPMAIL["UTM_DOMAINS"] names the hosts."""
    settings.STEPMAIL = {**settings.STEPMAIL, "UTM_DOMAINS": ["www.example.com"]}
    recommend(shop["shirt"], shop["pants"])
    sequence_with(products_block(sources=["recommended"], count=1))
    order(shop["shirt"], user=make_user())
    dispatch_due()
    link = re.search(r'<a href="([^"]+)"[^>]*>ワイドパンツ</a>', sent_html()).group(1)
    assert link == "https://shop.example.jp" + shop["pants"].get_absolute_url()


@pytest.mark.django_db
def test_products_the_customer_bought_before_are_replaced_by_best_sellers_of_the_same_category(shop):
    recommend(shop["shirt"], shop["pants"], shop["skirt"])
    customer = make_user()
    order(shop["pants"], user=customer)  # bought earlier
    for n in range(3):  # the shop's best seller among bottoms, then shoes
        order((shop["skirt"], 2), guest_email=f"other{n}@example.jp")
    order(shop["sneakers"], guest_email="other9@example.jp")
    sequence_with(products_block(sources=["recommended", "bestsellers"], count=2))
    mail.outbox.clear()
    order(shop["shirt"], user=customer)
    dispatch_due()
    own = [m for m in mail.outbox if m.to == [customer.email]]
    assert shown_titles(own[-1].alternatives[0][0]) == ["フレアスカート", "キャンバススニーカー"]


@pytest.mark.django_db
def test_customers_with_alike_orders_in_one_batch_each_miss_only_what_they_bought_before(shop):
    recommend(shop["shirt"], shop["pants"], shop["skirt"], shop["sneakers"])
    returning = make_user(email="returning@example.jp", username="returning")
    newcomer = make_user(email="newcomer@example.jp", username="newcomer")
    order(shop["pants"], user=returning)  # bought before the sequence existed
    sequence_with(products_block(sources=["recommended"], count=2))
    mail.outbox.clear()
    order(shop["shirt"], user=returning)
    order(shop["shirt"], user=newcomer)
    assert dispatch_due().batches == 1
    shown = {m.to[0]: shown_titles(m.alternatives[0][0]) for m in mail.outbox}
    assert shown == {"returning@example.jp": ["フレアスカート", "キャンバススニーカー"],
                     "newcomer@example.jp": ["ワイドパンツ", "フレアスカート"]}


@pytest.mark.django_db
def test_upsell_suggests_the_same_category_a_little_more_expensive(shop):
    sequence_with(products_block(sources=["upsell"], count=3, upsell_percent=50))
    order(shop["shirt"], user=make_user())  # paid 4,800: up to 7,200
    dispatch_due()
    assert shown_titles(sent_html()) == ["プレミアムシャツ"]


@pytest.mark.django_db
def test_hand_picked_products_come_first_in_the_editors_order(shop):
    recommend(shop["shirt"], shop["pants"])
    sequence_with(
        products_block(sources=["handpicked", "recommended"], count=3,
                       handpicked=[shop["sneakers"], shop["shirt"], shop["skirt"]])
    )
    order(shop["shirt"], user=make_user())
    dispatch_due()
    # The shirt was just bought: skipped even though it was hand-picked.
    assert shown_titles(sent_html()) == ["キャンバススニーカー", "フレアスカート", "ワイドパンツ"]


@pytest.mark.django_db
def test_nothing_to_suggest_renders_no_empty_section(shop):
    sequence_with(products_block(sources=["recommended"], heading="ぴったりの一品"),
                  {"type": "paragraph", "value": "<p>またのご来店を</p>"})
    order(shop["tee"], guest_email="guest@example.jp")
    dispatch_due()
    html = sent_html()
    assert "ぴったりの一品" not in html and "sm-products" not in html
    assert "またのご来店を" in html


@pytest.mark.django_db
def test_the_queries_of_a_batch_do_not_grow_with_its_recipients(shop):
    recommend(shop["shirt"], shop["pants"], shop["skirt"])
    sequence_with(products_block(sources=["recommended", "upsell", "bestsellers"], count=3))

    def dispatch_for(count, prefix):
        for n in range(count):
            order(shop["shirt"], guest_email=f"{prefix}{n}@example.jp")
        run_follow_ups()  # the orders' own work (per order by nature), before the batch is counted
        with CaptureQueriesContext(connection) as queries:
            assert dispatch_due().sent == count
        return len(queries)

    few = dispatch_for(2, "a")
    many = dispatch_for(12, "b")
    assert many <= few
    assert all(shown_titles(m.alternatives[0][0])[:2] == ["ワイドパンツ", "フレアスカート"] for m in mail.outbox)


@pytest.mark.django_db
def test_a_block_that_fails_to_prepare_fails_its_mails_only(shop, monkeypatch):
    from stepmail_plugin.commerce import recommendations
    from stepmail_plugin.models import Delivery, DeliveryStatus

    def broken(*args, **kwargs):
        raise RuntimeError("catalogue unavailable")

    monkeypatch.setattr(recommendations, "select_products", broken)
    sequence_with(products_block())
    make_sequence("お礼", steps=[{"subject": "お礼", "delay": 0}])
    order(shop["shirt"], guest_email="guest@example.jp")
    result = dispatch_due()
    assert [m.subject for m in mail.outbox] == ["お礼"]
    failed = Delivery.objects.get(step__subject__contains="ボトム")
    assert (failed.status, failed.reason, result.retried) == (DeliveryStatus.SCHEDULED, "render_error", 1)
    assert "catalogue unavailable" in failed.error


def test_a_new_products_block_starts_without_an_empty_hand_picked_item():
    """An editor who only ticks other sources can publish: no empty chooser is left to fill."""
    from stepmail_plugin.blocks import StepBodyBlock

    products_block = StepBodyBlock().child_blocks["products"]
    default = products_block.get_default()
    assert list(default["products"]) == []
    products_block.clean(default)  # ("This field is required" before)
