"""Builders for real Oscar catalogue objects, baskets and orders with chosen lines, and for
sequence rules set the way an editor sets them (a published revision)."""

from __future__ import annotations

from decimal import Decimal as D

from django.test import TestCase
from oscar.apps.catalogue.categories import create_from_breadcrumbs
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test import factories as oscar_factories

Basket = get_model("basket", "Basket")
ProductCategory = get_model("catalogue", "ProductCategory")


def make_product(title: str = "リネンシャツ", price: D = D("4800"), *, category: str = "", usage_days=None,
                 product_class: str = "衣類"):
    """A product with stock; ``category`` as breadcrumbs ("衣類 > シャツ"); ``usage_days`` sets
    the consumable's attribute."""
    attributes = {"usage_days": usage_days} if usage_days is not None else None
    product = oscar_factories.create_product(title=title, product_class=product_class, attributes=attributes)
    oscar_factories.create_stockrecord(product, num_in_stock=100, price=price)
    if category:
        ProductCategory.objects.create(product=product, category=create_from_breadcrumbs(category))
    return product


def open_basket(user, *items):
    """An open basket of ``user`` holding ``(product, quantity)`` items (or products)."""
    basket = Basket.objects.create(owner=user)
    basket.strategy = Default()
    for item in items:
        product, quantity = item if isinstance(item, tuple) else (item, 1)
        basket.add_product(product, quantity)
    return basket


def order_of(*items, user=None, guest_email: str = "", basket=None, **kwargs):
    """An order placed through Oscar's OrderCreator with these ``(product, quantity)`` lines;
    the plugin's on-commit receivers run here."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        if basket is None:
            basket = Basket.objects.create()
            basket.strategy = Default()
            for item in items:
                product, quantity = item if isinstance(item, tuple) else (item, 1)
                basket.add_product(product, quantity)
        else:
            basket.strategy = Default()
        if guest_email:
            kwargs["guest_email"] = guest_email
        return oscar_factories.create_order(basket=basket, user=user, **kwargs)


def set_status(order, status: str):
    """Move an order to ``status`` the way the dashboard does (Oscar's set_status)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        order.set_status(status)
    return order


def with_rules(sequence, **fields):
    """Set rule fields on a sequence and publish a new revision, as an editor would."""
    from stepmail_plugin.models import SequencePage

    sequence = SequencePage.objects.get(pk=sequence.pk)
    for name, value in fields.items():
        field = SequencePage._meta.get_field(name)
        if field.many_to_many:
            getattr(sequence, name).set(value)
        else:
            setattr(sequence, name, value)
    sequence.full_clean()
    sequence.save_revision().publish()
    return SequencePage.objects.get(pk=sequence.pk)


def with_step_rules(step, **fields):
    """Set rule fields on a step page and publish it."""
    from stepmail_plugin.models import StepEmailPage

    step = StepEmailPage.objects.get(pk=step.pk)
    for name, value in fields.items():
        setattr(step, name, value)
    step.save_revision().publish()
    return StepEmailPage.objects.get(pk=step.pk)


def sequence_with(title, trigger, steps=(), *, kind="marketing", **rules):
    """A published sequence created with its rule fields already set (as the admin's create view
    does), then its steps."""
    from stepmail_plugin.models import SequencePage

    from .factories import _index, add_step

    sequence = SequencePage(title=title, trigger=trigger, kind=kind, live=True, **rules)
    _index().add_child(instance=sequence)
    sequence.save_revision().publish()
    for spec in steps:
        add_step(sequence, **spec)
    return SequencePage.objects.get(pk=sequence.pk)
