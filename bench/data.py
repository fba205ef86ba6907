"""Bench data, built fast: real Wagtail pages for the sequences, real Oscar orders (one placed
through Oscar's OrderCreator, then copied in bulk with Oscar's own models), and contacts,
enrollments and deliveries with ``bulk_create`` or one ``INSERT … SELECT``."""

from __future__ import annotations

import copy
import io
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal as D
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.files.images import ImageFile
from django.db import connection
from django.utils import timezone

from stepmail_plugin.blocks import StepBodyBlock
from stepmail_plugin.models import (
    ConsentStatus,
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    SequencePage,
    StepEmailPage,
)
from tests import factories

FIRST_NAMES = ["花子", "太郎", "美咲", "翔太", "陽菜", "蓮", "Emma", "Liam", ""]
LAST_NAMES = ["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "Smith", "Brown", ""]

SUBJECT = '{{ first_name|default:"お客様" }}様、ご注文ありがとうございます'
PREHEADER = "ご注文 {{ order_number }} の内容と、お手入れのコツをお届けします。"
PARAGRAPH_1 = (
    '<p>{{ full_name|default:"お客様" }}様、{{ shop_name }}をご利用いただきありがとうございます。'
    "ご注文番号 <b>{{ order_number }}</b>(合計 {{ order_total }}、{{ order_date }})を承りました。</p>"
)
PARAGRAPH_2 = (
    "<p>リネンは洗うほど柔らかくなります。初めてのお洗濯は<b>30℃以下のぬるま湯</b>で、"
    '<a href="https://shop.example.jp/care/linen/">お手入れガイド</a>をご覧ください。'
    "{{ first_name }}様にぴったりのコーディネートも、次のメールでご紹介します。</p>"
)


def base_data() -> None:
    """What Wagtail's data migrations would have made (the bench creates tables from the models)."""
    from wagtail.models import Collection

    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    factories.wagtail_root()


def block_names() -> set[str]:
    return set(StepBodyBlock.base_blocks)


def make_image():
    """A Wagtail image with a real PNG file (its rendition is made once, on first use)."""
    from PIL import Image as PILImage
    from wagtail.images.models import Image

    buffer = io.BytesIO()
    PILImage.new("RGB", (1200, 600), (194, 65, 12)).save(buffer, "PNG")
    buffer.seek(0)
    image = Image(title="リネンシャツ", file=ImageFile(buffer, name="bench-linen.png"))
    image.save()
    image.get_rendition("width-1200")
    return image


def _block_default(name: str) -> Any:
    """The value a new block of that name gets in the editor: what a plain step would hold."""
    block = StepBodyBlock.base_blocks[name]
    return block.get_default()


def step_body(image) -> tuple[list[tuple[str, Any]], list[str]]:
    """The 6-block step: two paragraphs with merge fields, an image, a button, and ``products``
    and ``order_summary`` where those blocks exist (else the blocks that exist). Returns the body
    and notes on what was substituted."""
    names = block_names()
    notes: list[str] = []
    body: list[tuple[str, Any]] = [
        ("paragraph", PARAGRAPH_1),
        ("image", {"image": image, "alt_text": "リネンシャツ", "link": "https://shop.example.jp/linen/"}),
    ]
    if "order_summary" in names:
        body.append(("order_summary", _block_default("order_summary")))
    else:
        body.append(("heading", "ご注文内容のご確認"))
        notes.append("no order_summary block in StepBodyBlock: a heading stands in for it")
    body.append(("paragraph", PARAGRAPH_2))
    body.append(("button", {"text": "{{ first_name|default:\"お客様\" }}様のマイページへ",
                            "url": "https://shop.example.jp/accounts/"}))
    if "products" in names:
        products_value = _block_default("products")
        # No hand-picked products: recommendations and best sellers fill the block.
        products_value["products"] = StepBodyBlock.base_blocks["products"].child_blocks["products"].to_python([])
        body.append(("products", products_value))
    else:
        body.append(("divider", None))
        notes.append("no products block in StepBodyBlock: a divider stands in for it")
    return body, notes


def make_sequence(title: str, trigger: str, first_body: list, *, steps: int = 2) -> tuple[SequencePage, list[StepEmailPage]]:
    """A published sequence whose first step has ``first_body``; later steps are short."""
    sequence = factories.make_sequence(title=title, trigger=trigger)
    made = [factories.add_step(sequence, subject=SUBJECT, preheader=PREHEADER, delay=0, body=first_body,
                               title=f"{title} 1")]
    for n in range(1, steps):
        made.append(factories.add_step(sequence, subject=f"{title} {n + 1}", delay=3 * n, title=f"{title} {n + 1}"))
    return SequencePage.objects.get(pk=sequence.pk), made


def make_catalogue(count: int = 12) -> list[Any]:
    from oscar.test import factories as oscar_factories

    products = []
    for n in range(count):
        product = oscar_factories.create_product(title=f"リネンアイテム {n + 1}", upc=f"BENCH{n:05d}")
        oscar_factories.create_stockrecord(product, num_in_stock=1000, price=D(2800 + 400 * n),
                                           partner_sku=f"bench-{n}")
        products.append(product)
    return products


@contextmanager
def without_enrollment():
    """Oscar's ``order_placed`` without the plugin's receiver: the bench enrolls in bulk itself."""
    from oscar.apps.order.signals import order_placed

    from stepmail_plugin.triggers.orders import receive_order_placed

    order_placed.disconnect(dispatch_uid="stepmail.order_placed")
    try:
        yield
    finally:
        order_placed.connect(receive_order_placed, dispatch_uid="stepmail.order_placed")


def place_order(email: str, products: list[Any]) -> Any:
    """An order placed through Oscar's OrderCreator (sends ``order_placed``)."""
    from oscar.apps.partner.strategy import Default
    from oscar.test import factories as oscar_factories

    basket = oscar_factories.BasketFactory()
    basket.strategy = Default()
    for product in products[:2]:
        basket.add_product(product)
    return oscar_factories.create_order(basket=basket, guest_email=email)


def make_orders(emails: list[str], products: list[Any]) -> list[Any]:
    """One order per address: one placed by Oscar's OrderCreator, the rest copies of it made with
    Oscar's models in bulk (same lines, own number, own customer)."""
    from oscar.core.loading import get_model

    Order = get_model("order", "Order")
    Line = get_model("order", "Line")
    with without_enrollment():
        template = place_order(emails[0], products)
    lines = list(template.lines.all())
    now = timezone.now()
    copies = []
    for n, email in enumerate(emails[1:], start=1):
        order = copy.copy(template)
        order.pk = order.id = None
        order.basket = None
        order.number = f"B{template.pk}-{n:07d}"
        order.guest_email = email
        order.date_placed = now - timedelta(minutes=n % 600)
        copies.append(order)
    created = [template]
    for start in range(0, len(copies), 2000):
        created += Order.objects.bulk_create(copies[start : start + 2000])
    new_lines = []
    for order in created[1:]:
        for line in lines:
            clone = copy.copy(line)
            clone.pk = clone.id = None
            clone.order = order
            new_lines.append(clone)
    Line.objects.bulk_create(new_lines, batch_size=2000)
    return created


def make_contacts(count: int, *, prefix: str = "c") -> list[Contact]:
    now = timezone.now()
    contacts = [
        Contact(
            email=f"{prefix}{n:07d}@example.jp",
            first_name=FIRST_NAMES[n % len(FIRST_NAMES)],
            last_name=LAST_NAMES[(n // 3) % len(LAST_NAMES)],
            language="ja",
            consent=ConsentStatus.OPTED_IN,
            consent_source="bench",
            consent_at=now,
        )
        for n in range(count)
    ]
    created: list[Contact] = []
    for start in range(0, count, 5000):
        created += Contact.objects.bulk_create(contacts[start : start + 5000])
    return created


def enroll_due(sequence: SequencePage, step: StepEmailPage, contacts: list[Contact], orders: list[Any] | None,
               *, due: datetime | None = None) -> list[Enrollment]:
    """Enroll every contact (with its order as trigger object) and make the first step due."""
    due = due or timezone.now() - timedelta(minutes=1)
    order_type = ContentType.objects.get_for_model(orders[0]) if orders else None
    enrollments = [
        Enrollment(
            sequence=sequence,
            contact=contact,
            trigger=sequence.trigger,
            key=f"order.order:{orders[n].pk}" if orders else "",
            object_type=order_type if orders else None,
            object_id=str(orders[n].pk) if orders else "",
            anchor_at=due,
        )
        for n, contact in enumerate(contacts)
    ]
    created: list[Enrollment] = []
    for start in range(0, len(enrollments), 2000):
        created += Enrollment.objects.bulk_create(enrollments[start : start + 2000])
    make_due(created, step, due)
    return created


def make_due(enrollments: list[Enrollment], step: StepEmailPage, due: datetime) -> None:
    """(Re)create the first step's deliveries of these enrollments, all due."""
    Delivery.objects.filter(enrollment__sequence_id=enrollments[0].sequence_id).delete()
    Enrollment.objects.filter(sequence_id=enrollments[0].sequence_id).update(status="active", exit_reason="",
                                                                             ended_at=None)
    Delivery.objects.bulk_create(
        [Delivery(enrollment=e, step=step, step_path=step.path, due_at=due) for e in enrollments],
        batch_size=2000,
    )


def bulk_enrollments_sql(sequences: list[tuple[SequencePage, list[StepEmailPage]]], now: datetime) -> int:
    """Enroll every contact in every sequence with one ``INSERT … SELECT`` each: the first step
    sent yesterday, the second due in the days ahead. Returns the number of enrollments."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for sequence, steps in sequences:
            cursor.execute(
                "INSERT INTO stepmail_enrollment (sequence_id, contact_id, trigger, key, object_id, anchor_at,"
                " status, exit_reason, context, created_at, holdout)"
                " SELECT %s, c.id, %s, '', '', %s, 'active', '', '{}', %s, FALSE FROM stepmail_contact c"
                " WHERE c.email LIKE 'idle%%'",
                [sequence.pk, sequence.trigger, now - timedelta(days=1), now],
            )
            if vendor == "postgresql":
                later = "%s::timestamptz + (e.id %% 259200) * interval '1 second'"
            else:
                later = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '+' || (e.id %% 259200) || ' seconds')"
            first, second = steps[0], steps[1]
            cursor.execute(
                "INSERT INTO stepmail_delivery (enrollment_id, step_id, step_path, status, due_at, attempts,"
                " sent_at, subject, to_email, esp_message_id, esp_status, reason, error, updated_at, created_at)"
                " SELECT e.id, %s, %s, 'sent', %s, 1, %s, '', '', '', 'sent', '', '', %s, %s"
                " FROM stepmail_enrollment e WHERE e.sequence_id = %s",
                [first.pk, first.path, now - timedelta(days=1), now - timedelta(days=1), now, now, sequence.pk],
            )
            cursor.execute(
                "INSERT INTO stepmail_delivery (enrollment_id, step_id, step_path, status, due_at, attempts,"
                " subject, to_email, esp_message_id, esp_status, reason, error, updated_at, created_at)"
                f" SELECT e.id, %s, %s, 'scheduled', {later}, 0, '', '', '', '', '', '', %s, %s"
                " FROM stepmail_enrollment e WHERE e.sequence_id = %s",
                [second.pk, second.path, now + timedelta(hours=1), now, now, sequence.pk],
            )
        if vendor == "postgresql":
            cursor.execute("ANALYZE stepmail_enrollment")
            cursor.execute("ANALYZE stepmail_delivery")
            cursor.execute("ANALYZE stepmail_contact")
        else:
            cursor.execute("ANALYZE")
    return Enrollment.objects.filter(contact__email__startswith="idle").count()


def scheduled_left(sequence_ids: list[int]) -> int:
    return Delivery.objects.filter(
        enrollment__sequence_id__in=sequence_ids,
        status__in=[DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING],
        due_at__lte=timezone.now(),
    ).count()
