"""Builders for a small real Oscar shop: categories, products with stock and pictures,
recommendations, orders placed through Oscar's OrderCreator, baskets, coupon templates."""

from __future__ import annotations

import itertools
from decimal import Decimal as D

from django.test import TestCase
from oscar.apps.catalogue.categories import create_from_breadcrumbs
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test import factories as oscar_factories
from oscar.test.factories.catalogue import ProductImageFactory

from stepmail_plugin.models import VoucherTemplate

Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")
ProductRecommendation = get_model("catalogue", "ProductRecommendation")
Basket = get_model("basket", "Basket")

_sku = itertools.count(1)


def category(path: str):
    return create_from_breadcrumbs(path)


def product(title: str, price: str | int = "4800", *, stock: int = 10, categories=(), image: bool = True,
            public: bool = True, currency: str = "JPY"):
    """A stand-alone product with one stock record, in ``categories``, with a picture."""
    item = oscar_factories.create_product(title=title, product_class="Clothing", is_public=public)
    oscar_factories.create_stockrecord(
        item, price=D(str(price)), num_in_stock=stock, partner_sku=f"SKU{next(_sku)}", currency=currency
    )
    for cat in categories:
        ProductCategory.objects.create(product=item, category=cat)
    if image:
        ProductImageFactory(product=item)
    return Product.objects.get(pk=item.pk)


def recommend(primary, *recommended):
    """Oscar recommendations of ``primary``: the first given ranks highest."""
    for ranking, item in zip(range(len(recommended), 0, -1), recommended):
        ProductRecommendation.objects.create(primary=primary, recommendation=item, ranking=ranking * 10)


def basket_with(*items, owner=None):
    basket = Basket.objects.create(owner=owner)
    basket.strategy = Default()
    for entry in items:
        item, quantity = entry if isinstance(entry, tuple) else (entry, 1)
        basket.add_product(item, quantity)
    return basket


def order(*items, user=None, guest_email: str = "", **kwargs):
    """An order of ``items`` (products or (product, quantity)) placed through Oscar's OrderCreator;
    the plugin's enrollment (on commit) runs here too."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        basket = basket_with(*items, owner=user)
        if guest_email:
            kwargs["guest_email"] = guest_email
        return oscar_factories.create_order(basket=basket, user=user, **kwargs)


def voucher_template(name: str = "お礼クーポン10%", **kwargs) -> VoucherTemplate:
    kwargs.setdefault("discount_type", "percentage")
    kwargs.setdefault("value", D("10"))
    template = VoucherTemplate(name=name, **kwargs)
    template.full_clean()
    template.save()
    return template


def block(kind: str, **value) -> dict:
    """Raw StreamField data of one block."""
    return {"type": kind, "value": value}


def products_block(sources=("recommended", "bestsellers"), count=3, handpicked=(), heading="おすすめ",
                   upsell_percent=50, button_text="詳しく見る") -> dict:
    return block("products", heading=heading, sources=list(sources), products=[p.pk for p in handpicked],
                 count=count, upsell_percent=upsell_percent, button_text=button_text)


def voucher_block(template, heading="クーポン", text="<p>{{ first_name }}様へ</p>", button_text="", url="") -> dict:
    return block("voucher", template=template.pk if template else None, heading=heading, text=text,
                 button_text=button_text, page=None, url=url)


def wagtail_image(title: str = "写真"):
    """A Wagtail image (the root collection is put back if a transactional test flushed it)."""
    from wagtail.images.models import Image
    from wagtail.images.tests.utils import get_test_image_file
    from wagtail.models import Collection

    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    return Image.objects.create(title=title, file=get_test_image_file())
