"""Preparing personalised blocks for a whole batch of mails at once.

Personalised blocks (products, order summary, coupon, review request, survey) need data per
recipient. Loading it mail by mail would cost queries per mail, so before a batch is rendered every
such block gets one call, :meth:`EmailBlockMixin.prepare_batch`, with all recipients of its step;
it loads what they need in a fixed number of queries and stores one entry per recipient here.
While rendering, the block reads its entry back (``block.prepared(value, ctx)``).

The same path serves previews, test sends and the web version, with a different :class:`Mode`:
only a real send (``Mode.SEND``) may create anything, e.g. a coupon.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cached_property, lru_cache
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import reverse
from django.utils import timezone

from ..tokens import WEB_VERSION, make_token

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Mode:
    """Why a mail is rendered."""

    SEND = "send"  # a real delivery: coupons are issued
    PREVIEW = "preview"  # the editor's preview (sample data or a chosen enrollment)
    TEST = "test"  # a test send to the editor
    WEB = "web"  # "view in browser" of a delivery that was sent


@dataclass(eq=False)
class Recipient:
    """Who one mail is for, and what started it. ``key`` identifies the mail within the batch."""

    key: Hashable
    contact: Any
    enrollment: Any = None
    delivery: Any = None
    trigger: Any = None
    sequence: Any = None
    step: Any = None
    language: str = ""
    #: Ready-made trigger data (``commerce.orders.OrderData``) when there is no real order, e.g.
    #: the built sample of a preview in a shop without orders.
    sample: Any = None


class PreparedBatch:
    """What personalised blocks prepared for the mails of one batch, keyed by block and mail."""

    def __init__(
        self,
        recipients: Iterable[Recipient] = (),
        *,
        mode: str = Mode.SEND,
        now: datetime | None = None,
        base_url: str = "",
    ):
        self.mode = mode
        self.now = now or timezone.now()
        self.base_url = base_url.rstrip("/")
        self.recipients: dict[Hashable, Recipient] = {}
        self._data: dict[tuple[int, Hashable], Any] = {}
        # Block values are keyed by identity; holding them keeps identities unique for the batch.
        self._values: dict[int, Any] = {}
        self._shared: dict[str, Any] = {}
        self._web_version: tuple[str, str] | None = None
        for recipient in recipients:
            self.add(recipient)

    @cached_property
    def active_zone(self) -> tzinfo:
        """The active time zone, asked of Django once per batch (a thread-local read costs more
        than a mail's use of it); a batch is rendered under one."""
        return timezone.get_current_timezone()

    @property
    def creates_records(self) -> bool:
        """Only a real send issues coupons or other records; previews and tests never do."""
        return self.mode == Mode.SEND

    def add(self, recipient: Recipient) -> Recipient:
        self.recipients[recipient.key] = recipient
        return recipient

    # -- shared loaders -------------------------------------------------------------------
    def shared(self, name: str, factory: Callable[[PreparedBatch], T]) -> T:
        """One object per batch under ``name`` (e.g. the product catalogue), made on first use."""
        if name not in self._shared:
            self._shared[name] = factory(self)
        return self._shared[name]

    def shared_get(self, name: str) -> Any:
        """What :meth:`shared` made under ``name``, or None."""
        return self._shared.get(name)

    # -- per block and recipient ------------------------------------------------------------
    def put(self, value: Any, key: Hashable, data: Any) -> None:
        self._values[id(value)] = value
        self._data[(id(value), key)] = data

    def lookup(self, value: Any, key: Hashable) -> tuple[bool, Any]:
        marker = (id(value), key)
        if marker in self._data:
            return True, self._data[marker]
        return False, None

    def prepare_steps(self, groups: dict[Any, list[Recipient]]) -> None:
        """Call every personalised block of each step once with that step's recipients.

        A block that fails is logged and left unprepared: it tries again, alone, when a mail is
        rendered, so the error is recorded on each delivery it concerns and the batch goes on.
        """
        for step, recipients in groups.items():
            if not recipients:
                continue
            try:
                children = list(step.body)
            except Exception:
                logger.exception("stepmail: body of step %s could not be read", getattr(step, "pk", None))
                continue
            for child in children:
                block = child.block
                if not getattr(block, "personalized", False) or not hasattr(block, "prepare_batch"):
                    continue
                try:
                    block.prepare_batch(child.value, recipients, self)
                except Exception:
                    logger.exception(
                        "stepmail: preparing block %s of step %s failed", child.block_type, getattr(step, "pk", None)
                    )

    # -- per-recipient system values ---------------------------------------------------------
    def values_for(self, delivery: Any) -> dict[str, str]:
        """Merge values the layout needs per mail: the signed "view in browser" link."""
        pk = None if delivery is None else delivery.pk
        return {"web_version_url": "" if pk is None else self.web_version_url(pk)}

    def web_version_url(self, delivery_id: int) -> str:
        """The signed "view in browser" link of the delivery ``delivery_id``."""
        if self._web_version is None:  # reverse() once per batch; the token goes in between
            prefix, _, suffix = reverse("stepmail:web_version", args=["TOKEN"]).rpartition("TOKEN")
            self._web_version = (self.base_url + prefix, suffix)
        return make_token(WEB_VERSION, {"d": delivery_id}).join(self._web_version)


def recipient_from_context(objects: dict[str, Any], key: Hashable) -> Recipient:
    """A recipient rebuilt from a render context's objects (when no batch prepared it)."""
    enrollment = objects.get("enrollment")
    contact = objects.get("contact") or getattr(enrollment, "contact", None)
    return Recipient(
        key=key,
        contact=contact,
        enrollment=enrollment,
        delivery=objects.get("delivery"),
        trigger=objects.get("trigger"),
        sequence=objects.get("sequence") or getattr(enrollment, "sequence", None),
        language=getattr(contact, "language", "") or settings.LANGUAGE_CODE,
    )


def key_from_context(objects: dict[str, Any]) -> Hashable:
    if "recipient_key" in objects:
        return objects["recipient_key"]
    delivery = objects.get("delivery")
    return getattr(delivery, "pk", None)


def prepare_deliveries(sender: Any, deliveries: list[Any]) -> PreparedBatch:
    """The dispatcher's hook: prepare personalised blocks for a claimed batch.

    ``sender`` is the ``dispatch.BatchSender`` that loaded the batch (steps, sequences,
    suppressions, trigger objects). Deliveries that will be skipped anyway (deleted or unpublished
    step, suppressed address) are left out, so nothing is issued for them.
    """
    batch = PreparedBatch(mode=Mode.SEND, base_url=sender.base_url)
    groups: dict[Any, list[Recipient]] = defaultdict(list)
    for delivery in deliveries:
        step = sender.steps.get(delivery.step_id) if delivery.step_id else None
        enrollment = delivery.enrollment
        sequence = sender.sequences.get(enrollment.sequence_id)
        if step is None or not step.live or sequence is None:
            continue
        contact = enrollment.contact
        if sender.suppressions.reason(contact, sequence.pk, sequence.is_marketing) or not _valid(contact.email):
            continue
        recipient = batch.add(
            Recipient(
                key=delivery.pk,
                contact=contact,
                enrollment=enrollment,
                delivery=delivery,
                trigger=sender.objects.get((enrollment.object_type_id, enrollment.object_id)),
                sequence=sequence,
                step=step,
                language=contact.language or settings.LANGUAGE_CODE,
            )
        )
        groups[step].append(recipient)
    batch.prepare_steps(groups)
    return batch


def _valid(email: str) -> bool:
    return valid_email(email)


@lru_cache(maxsize=4096)
def valid_email(email: str) -> bool:
    """Whether Django's ``validate_email`` accepts ``email`` (asked twice per mail: remembered)."""
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True
