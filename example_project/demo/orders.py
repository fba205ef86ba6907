"""A real Oscar order for the simulation, placed through Oscar's own order creation.

The order is placed the way Oscar's checkout does it (basket with stock-backed prices, shipping
method, total calculator, ``OrderCreator.place_order``), so Oscar sends its ``order_placed``
signal and stepmail_plugin enrolls the customer exactly as it would for a shop visitor.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from oscar.apps.checkout.calculators import OrderTotalCalculator
from oscar.apps.order.utils import OrderCreator
from oscar.apps.shipping.methods import Free
from oscar.core.loading import get_class, get_model

from .catalogue import ensure_japan

Basket = get_model("basket", "Basket")
BillingAddress = get_model("order", "BillingAddress")
Order = get_model("order", "Order")
Product = get_model("catalogue", "Product")
ShippingAddress = get_model("order", "ShippingAddress")
Selector = get_class("partner.strategy", "Selector")
SurchargeApplicator = get_class("checkout.applicator", "SurchargeApplicator")

#: The demo customer: a guest (no account), so only the order-triggered sequence applies.
CUSTOMER = {
    "last_name": "山田",
    "first_name": "花子",
    "line1": "神宮前1-2-3",
    "line2": "",
    "line4": "渋谷区",
    "state": "東京都",
    "postcode": "150-0001",
}
#: What the demo customer buys (product slugs from demo.catalogue): two tops, so the mails about
#: matching bottoms and shoes make sense.
BASKET = [("linen-shirt", 1), ("organic-cotton-tee", 1)]


@dataclass
class DemoOrder:
    order: object
    email: str


def fresh_email() -> str:
    """A new address per run, so every run enrolls (and mails) a new contact."""
    stamp = timezone.localtime().strftime("%Y%m%d%H%M%S")
    email = f"hanako.yamada+{stamp}@example.com"
    n = 1
    while Order.objects.filter(guest_email=email).exists():
        n += 1
        email = f"hanako.yamada+{stamp}-{n}@example.com"
    return email


def place_demo_order(email: str | None = None) -> DemoOrder:
    """Place a guest order for the demo products; the plugin enrolls on commit."""
    email = email or fresh_email()
    products = {p.slug: p for p in Product.objects.filter(slug__in=[slug for slug, _ in BASKET])}
    missing = [slug for slug, _ in BASKET if slug not in products]
    if missing:
        raise LookupError(f"Demo products missing: {', '.join(missing)} (run manage.py load_demo)")

    # As in a checkout request: the order and everything it triggers commit together, and
    # stepmail's on_commit enrollment runs once they have.
    with transaction.atomic():
        basket = Basket.objects.create()
        basket.strategy = Selector().strategy()
        for slug, quantity in BASKET:
            basket.add_product(products[slug], quantity)

        country = ensure_japan()
        shipping_address = ShippingAddress.objects.create(country=country, **CUSTOMER)
        billing_address = BillingAddress.objects.create(country=country, **CUSTOMER)

        shipping_method = Free()
        shipping_charge = shipping_method.calculate(basket)
        surcharges = SurchargeApplicator().get_applicable_surcharges(basket)
        total = OrderTotalCalculator().calculate(basket, shipping_charge, surcharges)
        order = OrderCreator().place_order(
            basket=basket,
            total=total,
            shipping_method=shipping_method,
            shipping_charge=shipping_charge,
            shipping_address=shipping_address,
            billing_address=billing_address,
            surcharges=surcharges,
            guest_email=email,
        )
        basket.submit()
    return DemoOrder(order=order, email=email)
