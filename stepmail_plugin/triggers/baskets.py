"""Abandoned baskets (かご落ち): open baskets of signed-in customers, idle past a threshold.

A django-q2 schedule runs :func:`scan_abandoned_baskets` (``stepmail.scan_baskets``). Each live
``basket_abandoned`` sequence uses its own threshold (default ``BASKET_IDLE_HOURS``); a basket
enters once per sequence; any order ends the enrollment (the trigger stops on purchase), and so
does the basket being submitted or merged by the time a mail is due.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max
from django.urls import NoReverseMatch, reverse
from oscar.core.loading import get_model

from ..conf import stepmail_settings
from .registry import BASKET_ABANDONED
from .scans import enroll_quietly, enrolled_keys, live_sequences, lookback, now, threshold, user_consent


def _money(amount: Any, currency: str) -> str:
    if amount is None:
        return ""
    from oscar.templatetags.currency_filters import currency as format_currency

    return format_currency(amount, currency)


def product_item(product: Any, *, quantity: int | None = None, price: str = "") -> dict[str, Any]:
    """A plain snapshot of a product for a mail (title, link, image, price)."""
    image = ""
    try:
        primary = product.primary_image()
        original = getattr(primary, "original", None)
        if original and not getattr(primary, "is_missing", False):
            image = original.url
    except Exception:  # a missing file must not stop the scan
        image = ""
    item = {"title": product.get_title(), "url": product.get_absolute_url(), "image": image, "price": price}
    if quantity is not None:
        item["quantity"] = quantity
    return item


def basket_items(basket: Any) -> list[dict[str, Any]]:
    return [
        product_item(
            line.product,
            quantity=line.quantity,
            price=_money(line.price_incl_tax * line.quantity if line.price_incl_tax is not None else None,
                         line.price_currency),
        )
        for line in basket.all_lines()
    ]


def basket_url() -> str:
    try:
        return reverse("basket:summary")
    except NoReverseMatch:
        return ""


def scan_abandoned_baskets() -> dict[str, int]:
    """Enroll the owners of baskets idle longer than each sequence's threshold."""
    from datetime import timedelta

    Basket = get_model("basket", "Basket")
    moment = now()
    report = {"sequences": 0, "baskets": 0, "enrolled": 0}
    default = timedelta(hours=stepmail_settings.BASKET_IDLE_HOURS)
    for sequence in live_sequences(BASKET_ABANDONED.key):
        report["sequences"] += 1
        idle = threshold(sequence, default)
        cutoff = moment - idle
        baskets = list(
            Basket._default_manager.filter(status=Basket.OPEN, owner__isnull=False)
            .exclude(owner__email="")
            .annotate(stepmail_lines=Count("lines"), stepmail_last=Max("lines__date_updated"))
            .filter(stepmail_lines__gt=0, stepmail_last__lte=cutoff, stepmail_last__gt=cutoff - lookback())
            .select_related("owner")
            .order_by("pk")
        )
        done = enrolled_keys(sequence, (f"basket.basket:{b.pk}" for b in baskets))
        for basket in baskets:
            if f"basket.basket:{basket.pk}" in done:
                continue
            report["baskets"] += 1
            report["enrolled"] += enroll_quietly(
                basket.owner,
                BASKET_ABANDONED.key,
                obj=basket,
                at=basket.stepmail_last + idle,
                context={"_items": basket_items(basket), "_items_url": basket_url()},
                match={"sequence_ids": [sequence.pk]},
                consent_source=user_consent(),
            )
    return report
