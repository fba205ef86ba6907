"""Review requests: the purchased products a customer has not reviewed yet, with Oscar's form link."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import NoReverseMatch, reverse

from .orders import catalogue_for, trigger_data


@dataclass(frozen=True)
class ReviewLink:
    product_id: int
    title: str
    image_url: str
    review_url: str


def reviews_enabled() -> bool:
    from django.apps import apps

    return apps.is_installed("oscar.apps.catalogue.reviews")


def review_links(batch: Any, recipients: list[Any]) -> dict[Any, list[ReviewLink]]:
    """For each recipient: the products of their order to review, in order (none for baskets)."""
    if not reviews_enabled():
        return {r.key: [] for r in recipients}
    orders = trigger_data(batch)
    catalogue = catalogue_for(batch)
    reviewed = _reviewed(batch)
    result: dict[Any, list[ReviewLink]] = {}
    for recipient in recipients:
        data = orders.get(recipient.key)
        links: list[ReviewLink] = []
        if data is not None and data.kind != "basket":
            for product_id in data.product_ids:
                product = catalogue.get(product_id)
                if product is None or not product.is_public or product_id in reviewed.get(recipient.key, ()):
                    continue
                try:
                    url = reverse(
                        "catalogue:reviews-add", kwargs={"product_slug": product.slug, "product_pk": product.pk}
                    )
                except NoReverseMatch:
                    continue
                links.append(
                    ReviewLink(
                        product_id=product_id,
                        title=catalogue.title(product_id),
                        image_url=catalogue.image_url(product_id),
                        review_url=catalogue.absolute(url),
                    )
                )
        result[recipient.key] = links
    return result


def _reviewed(batch: Any) -> dict[Any, set[int]]:
    """Products each recipient already reviewed (as a user or by address), in one query."""

    def load(b: Any) -> dict[Any, set[int]]:
        from oscar.core.loading import get_model

        orders = trigger_data(b)
        product_ids = {pid for data in orders.values() for pid in data.product_ids}
        by_user: dict[int, list[Any]] = defaultdict(list)
        by_email: dict[str, list[Any]] = defaultdict(list)
        for recipient in b.recipients.values():
            user_id = getattr(recipient.contact, "user_id", None)
            if user_id:
                by_user[user_id].append(recipient.key)
            email = (getattr(recipient.contact, "email", "") or "").lower()
            if email:
                by_email[email].append(recipient.key)
        found: dict[Any, set[int]] = defaultdict(set)
        if not product_ids or not (by_user or by_email):
            return found
        ProductReview = get_model("reviews", "ProductReview")
        rows = (
            ProductReview.objects.annotate(email_lower=Lower("email"))
            .filter(product_id__in=product_ids)
            .filter(Q(user_id__in=list(by_user)) | Q(email_lower__in=list(by_email)))
            .values_list("user_id", "email_lower", "product_id")
        )
        for user_id, email, product_id in rows:
            for key in by_user.get(user_id, []) + by_email.get(email or "", []):
                found[key].add(product_id)
        return found

    return batch.shared("reviewed", load)
