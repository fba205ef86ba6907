"""Products as a mail shows them: title, price in a currency, availability, image and link.

One :class:`Catalogue` per batch loads the products it is asked for in one go (with stock records,
images and public children prefetched), asks Oscar's strategy whether each can be bought and at
what price, and remembers the answers for every mail of the batch.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch

logger = logging.getLogger(__name__)

#: Thumbnail size for product pictures in mails (twice the displayed size, for sharp screens).
THUMBNAIL_SIZE = "360x360"

_serials = itertools.count(1)


@dataclass(frozen=True)
class ShownProduct:
    """A product as one mail shows it. Plain values only."""

    product_id: int
    title: str
    price: Decimal | None
    currency: str
    url: str
    image_url: str


def product_model():
    from oscar.core.loading import get_model

    return get_model("catalogue", "Product")


class Catalogue:
    """The products one batch of mails needs, with Oscar's view of price and availability.

    Prices and availability come from ``Selector().strategy()`` without a request: what an
    anonymous visitor would see, which is what the customer sees when they follow the link.
    """

    def __init__(self, base_url: str):
        from oscar.core.loading import get_class

        self.base_url = base_url.rstrip("/")
        #: Tells catalogues apart for as long as the process lives (renderings made from one
        #: catalogue's pictures and links are not reused with another's).
        self.serial = next(_serials)
        self.strategy = get_class("partner.strategy", "Selector")().strategy()
        self.products: dict[int, Any] = {}
        self._pending: set[int] = set()
        self._tried: set[int] = set()
        self._info: dict[int, tuple[bool, Decimal | None, str]] = {}
        self._images: dict[int, str] = {}
        self._urls: dict[int, str] = {}

    # -- loading --------------------------------------------------------------------------
    def want(self, ids: Iterable[int | None]) -> None:
        """Note products that will be needed; they are fetched together with the next load."""
        self._pending.update(int(i) for i in ids if i is not None)

    def load(self, ids: Iterable[int | None] = ()) -> None:
        """Fetch the products not loaded yet, and every one wanted so far, in one go (a constant
        number of queries, however many products)."""
        self.want(ids)
        missing = self._pending - self._tried
        self._pending = set()
        if not missing:
            return
        self._tried |= missing
        Product = product_model()
        public_children = Product.objects.filter(is_public=True).prefetch_related("stockrecords")
        queryset = (
            Product.objects.filter(pk__in=missing)
            .select_related("product_class", "parent", "parent__product_class")
            .prefetch_related(
                "stockrecords",
                "images",
                "parent__images",
                Prefetch("children", queryset=public_children, to_attr="_prefetched_public_children"),
            )
        )
        for product in queryset:
            self.products[product.pk] = product

    def get(self, product_id: int | None) -> Any:
        if product_id is None:
            return None
        if product_id in self._pending:
            self.load()
        return self.products.get(product_id)

    def canonical_id(self, product_id: int | None) -> int | None:
        """The id of the product a customer browses: the parent of a variant, else itself."""
        product = self.get(product_id)
        if product is None:
            return product_id
        return product.parent_id or product.pk

    # -- what a mail shows ----------------------------------------------------------------
    def purchase_info(self, product_id: int) -> tuple[bool, Decimal | None, str]:
        """(available to buy, price, currency) of a loaded product, per Oscar's strategy."""
        if product_id in self._info:
            return self._info[product_id]
        product = self.get(product_id)
        result: tuple[bool, Decimal | None, str] = (False, None, "")
        if product is not None:
            try:
                info = (
                    self.strategy.fetch_for_parent(product)
                    if product.is_parent
                    else self.strategy.fetch_for_product(product)
                )
                price = info.price
                amount = None
                if price.exists:
                    amount = price.incl_tax if price.is_tax_known else price.excl_tax
                result = (
                    bool(info.availability.is_available_to_buy) and amount is not None,
                    amount,
                    getattr(price, "currency", "") or "",
                )
            except Exception:  # a shop's strategy failing for one product must not stop mail
                logger.exception("stepmail: no purchase info for product %s", product_id)
        self._info[product_id] = result
        return result

    def is_offerable(self, product_id: int, currency: str = "") -> bool:
        """Public, buyable now, and priced in ``currency`` (any currency when empty)."""
        product = self.get(product_id)
        if product is None or not product.is_public or product.is_child:
            return False
        available, _price, price_currency = self.purchase_info(product_id)
        return available and (not currency or price_currency == currency)

    def image_url(self, product_id: int) -> str:
        """Absolute URL of a thumbnail of the product's main picture, or ``""``."""
        if product_id in self._images:
            return self._images[product_id]
        product = self.get(product_id)
        url = ""
        if product is not None:
            try:
                image = product.primary_image()
            except Exception:  # pragma: no cover - defensive
                image = None
            original = getattr(image, "original", None) if image is not None else None
            if original:
                url = _thumbnail_url(original)
        self._images[product_id] = self.absolute(url) if url else ""
        return self._images[product_id]

    def url(self, product_id: int) -> str:
        if product_id in self._urls:
            return self._urls[product_id]
        product = self.get(product_id)
        url = ""
        if product is not None:
            try:
                url = self.absolute(product.get_absolute_url())
            except Exception:  # no catalogue URLs in this project
                url = ""
        self._urls[product_id] = url
        return url

    def title(self, product_id: int) -> str:
        product = self.get(product_id)
        if product is None:
            return ""
        return product.get_title() or str(product)

    def shown(self, product_id: int) -> ShownProduct:
        _available, price, currency = self.purchase_info(product_id)
        return ShownProduct(
            product_id=product_id,
            title=self.title(product_id),
            price=price,
            currency=currency,
            url=self.url(product_id),
            image_url=self.image_url(product_id),
        )

    def absolute(self, url: str) -> str:
        if url.startswith("//"):
            return "https:" + url
        if url.startswith("/"):
            return self.base_url + url
        return url


def _thumbnail_url(original: Any) -> str:
    """A resized copy through Oscar's thumbnailer; the original when that is not possible."""
    try:
        from oscar.core.thumbnails import get_thumbnailer

        thumbnail = get_thumbnailer().generate_thumbnail(original, size=THUMBNAIL_SIZE, upscale=False)
        if thumbnail is not None and getattr(thumbnail, "url", ""):
            return thumbnail.url
    except Exception:
        logger.warning("stepmail: no thumbnail for %s; using the original", original, exc_info=True)
    try:
        return original.url
    except Exception:
        return ""
