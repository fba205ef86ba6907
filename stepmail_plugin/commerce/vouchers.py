"""Oscar vouchers for coupon blocks: one single-use code per recipient, issued at send time.

A :class:`~stepmail_plugin.models.VoucherTemplate` owns one Oscar voucher offer (kept in step with
its terms by :func:`sync_offer`). :func:`issue_vouchers` gives every delivery of a batch its own
single-use ``Voucher`` on that offer, in one transaction, recorded by ``IssuedVoucher`` (unique per
delivery and template): a retried delivery finds its coupon and never gets a second one.
Previews and test sends never create vouchers; they show a sample code.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from ..conf import stepmail_settings

logger = logging.getLogger(__name__)

#: Letters and digits that cannot be mistaken for one another when typed from a phone.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
SAMPLE_CODE = "SAMPLE-0000"


@dataclass(frozen=True)
class VoucherInfo:
    """A coupon as a mail shows it."""

    code: str
    expires_at: datetime
    discount_type: str
    value: Decimal | None
    minimum_purchase: Decimal | None
    currency: str
    is_sample: bool = False


def _oscar():
    from oscar.core.loading import get_model

    return (
        get_model("offer", "Range"),
        get_model("offer", "ConditionalOffer"),
        get_model("offer", "Benefit"),
        get_model("offer", "Condition"),
        get_model("voucher", "Voucher"),
    )


def all_products_range():
    """The range used when a template names none: every product of the shop."""
    Range, *_rest = _oscar()
    found = Range.objects.filter(includes_all_products=True).order_by("pk").first()
    if found is None:
        # Named in the shop's language: the Oscar dashboard lists it with the shop's own ranges.
        with translation.override(settings.LANGUAGE_CODE):
            name = str(_("All products (step mail coupons)"))
        found = Range.objects.create(name=name, includes_all_products=True)
    return found


def _terms(template: Any, range_id: int) -> dict[str, Any]:
    from ..models import DiscountType

    _Range, _Offer, Benefit, Condition, _Voucher = _oscar()
    if template.discount_type == DiscountType.FREE_SHIPPING:
        benefit = {"type": Benefit.SHIPPING_PERCENTAGE, "value": Decimal(100), "range_id": None}
    elif template.discount_type == DiscountType.FIXED:
        benefit = {"type": Benefit.FIXED, "value": template.value, "range_id": range_id}
    else:
        benefit = {"type": Benefit.PERCENTAGE, "value": template.value, "range_id": range_id}
    if template.minimum_purchase:
        condition = {"type": Condition.VALUE, "value": template.minimum_purchase, "range_id": range_id}
    else:
        condition = {"type": Condition.COUNT, "value": Decimal(1), "range_id": range_id}
    return {"benefit": benefit, "condition": condition}


def _current_terms(offer: Any) -> dict[str, Any]:
    def of(obj):
        value = obj.value if obj.value is None else Decimal(obj.value)
        return {"type": obj.type, "value": value, "range_id": obj.range_id}

    return {"benefit": of(offer.benefit), "condition": of(offer.condition)}


def sync_offer(template: Any) -> Any:
    """Make the template's Oscar offer match its terms.

    An offer no coupon uses yet is changed in place; once coupons were issued, new terms get a new
    offer, so coupons already sent keep what their mail promised.
    """
    from ..models import VoucherTemplate

    _Range, ConditionalOffer, Benefit, Condition, _Voucher = _oscar()
    range_id = template.range_id or all_products_range().pk
    wanted = _terms(template, range_id)
    offer = template.offer
    if offer is not None and _current_terms(offer) == wanted:
        return offer
    with transaction.atomic():
        version = template.terms_version + 1
        name = f"{template.name} (step mail coupon {template.pk}.{version})"[:128]
        if offer is not None and not offer.vouchers.exists():
            for obj, values in ((offer.benefit, wanted["benefit"]), (offer.condition, wanted["condition"])):
                for key, value in values.items():
                    setattr(obj, key, value)
                obj.save()
            offer.name = name
            offer.save()
        else:
            benefit = Benefit.objects.create(**wanted["benefit"])
            condition = Condition.objects.create(**wanted["condition"])
            offer = ConditionalOffer.objects.create(
                name=name,
                description=str(_("Coupons sent by step mail (“%(name)s”).") % {"name": template.name}),
                offer_type=ConditionalOffer.VOUCHER,
                benefit=benefit,
                condition=condition,
                exclusive=True,
                max_basket_applications=1,
            )
        VoucherTemplate.objects.filter(pk=template.pk).update(offer=offer, terms_version=version)
        template.offer, template.terms_version = offer, version
    return offer


def _new_codes(start: str, count: int) -> list[str]:
    _Range, _Offer, _Benefit, _Condition, Voucher = _oscar()
    codes: set[str] = set()
    while len(codes) < count:
        while len(codes) < count:
            codes.add(start + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))
        # Collisions are astronomically rare; one query checks the whole batch.
        codes -= set(Voucher.objects.filter(code__in=codes).values_list("code", flat=True))
    return sorted(codes)


def _create(template: Any, delivery_ids: list[int], now: datetime) -> None:
    from ..models import IssuedVoucher

    _Range, _Offer, _Benefit, _Condition, Voucher = _oscar()
    if template.offer_id is None:
        sync_offer(template)
    expires = now + timedelta(days=template.valid_days)
    codes = _new_codes(template.code_start, len(delivery_ids))
    vouchers = [
        Voucher(
            name=f"{template.name} {code}"[:128],
            code=code,
            usage=Voucher.SINGLE_USE,
            start_datetime=now,
            end_datetime=expires,
        )
        for code in codes
    ]
    with transaction.atomic():
        Voucher.objects.bulk_create(vouchers)
        if any(v.pk is None for v in vouchers):  # a backend that does not return ids
            ids = dict(Voucher.objects.filter(code__in=codes).values_list("code", "pk"))
            for voucher in vouchers:
                voucher.pk = ids[voucher.code]
        Through = Voucher.offers.through
        Through.objects.bulk_create(
            [Through(voucher_id=v.pk, conditionaloffer_id=template.offer_id) for v in vouchers]
        )
        IssuedVoucher.objects.bulk_create(
            [
                IssuedVoucher(
                    delivery_id=delivery_id, template=template, voucher=voucher,
                    code=voucher.code, expires_at=expires, created_at=now,
                )
                for delivery_id, voucher in zip(delivery_ids, vouchers, strict=True)
            ]
        )


def issue_vouchers(batch: Any, recipients: list[Any], template: Any) -> dict[Any, VoucherInfo]:
    """The coupon of each recipient: existing ones reused, missing ones created on a real send."""
    from ..models import IssuedVoucher

    delivery_of = {
        r.key: r.delivery.pk for r in recipients if r.delivery is not None and r.delivery.pk is not None
    }
    issued = {
        iv.delivery_id: iv
        for iv in IssuedVoucher.objects.filter(delivery_id__in=set(delivery_of.values()), template=template)
    } if delivery_of else {}
    missing = sorted(set(delivery_of.values()) - set(issued))
    if missing and batch.creates_records:
        try:
            _create(template, missing, batch.now)
        except IntegrityError:
            # Another worker (whose lease we took over) issued them at the same moment: use theirs.
            logger.warning("stepmail: coupons for deliveries %s were issued concurrently", missing)
        issued = {
            iv.delivery_id: iv
            for iv in IssuedVoucher.objects.filter(delivery_id__in=set(delivery_of.values()), template=template)
        }
    currency = getattr(settings, "OSCAR_DEFAULT_CURRENCY", "")
    result: dict[Any, VoucherInfo] = {}
    for recipient in recipients:
        record = issued.get(delivery_of.get(recipient.key))
        if record is not None:
            result[recipient.key] = info_for(template, record.code, record.expires_at, currency)
        elif not batch.creates_records:
            result[recipient.key] = info_for(
                template, SAMPLE_CODE, batch.now + timedelta(days=template.valid_days), currency, sample=True
            )
    return result


def info_for(template: Any, code: str, expires_at: datetime, currency: str, *, sample: bool = False) -> VoucherInfo:
    return VoucherInfo(
        code=code,
        expires_at=expires_at,
        discount_type=template.discount_type,
        value=template.value,
        minimum_purchase=template.minimum_purchase,
        currency=currency,
        is_sample=sample,
    )


def cleanup_expired_vouchers(now: datetime | None = None) -> int:
    """Delete coupons issued by step mail that expired unused ``VOUCHER_CLEANUP_AFTER_DAYS`` ago.

    The ``IssuedVoucher`` record stays (with its code), so a delivery never gets a second coupon.
    Returns how many vouchers were deleted.
    """
    from ..models import IssuedVoucher

    _Range, _Offer, _Benefit, _Condition, Voucher = _oscar()
    now = now or timezone.now()
    cutoff = now - timedelta(days=stepmail_settings.VOUCHER_CLEANUP_AFTER_DAYS)
    issued = IssuedVoucher.objects.filter(voucher__isnull=False, expires_at__lt=cutoff).values("voucher_id")
    unused = Voucher.objects.filter(
        pk__in=issued, end_datetime__lt=cutoff, num_orders=0, applications__isnull=True
    ).values_list("pk", flat=True)
    ids = list(unused)
    if not ids:
        return 0
    with transaction.atomic():
        IssuedVoucher.objects.filter(voucher_id__in=ids).update(voucher=None)
        Voucher.objects.filter(pk__in=ids).delete()
    logger.info("stepmail: deleted %d expired, unused coupons", len(ids))
    return len(ids)
