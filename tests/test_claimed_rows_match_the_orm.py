"""The dispatcher reads its batches with plain SQL (rows.py): on PostgreSQL through psycopg's
compiled date loader and server-side binding. What it reads must be exactly what the ORM reads,
or mails would carry other dates and Message-IDs than the admin shows."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from stepmail_plugin.commerce.recommendations import _history_rows
from stepmail_plugin.dispatch import claim_deliveries, message_id
from stepmail_plugin.models import Delivery, Enrollment

from .factories import make_sequence, place_order
from .shop import order, product


@pytest.mark.django_db
def test_claimed_deliveries_carry_the_dates_the_orm_reads():
    make_sequence(steps=[{"subject": "当日", "delay": 0}])
    for n in range(3):
        place_order(guest_email=f"dates{n}@example.jp")
    # Microseconds and a date far from now: a loader that dropped or shifted either would show.
    Delivery.objects.update(due_at=timezone.now() - timedelta(days=400, microseconds=123457))
    claimed = claim_deliveries(uuid.uuid4(), 10)
    assert len(claimed) == 3
    for delivery in claimed:
        stored = Delivery.objects.get(pk=delivery.pk)
        enrollment = Enrollment.objects.get(pk=delivery.enrollment_id)
        for name in ("due_at", "created_at", "claimed_at", "updated_at"):
            value = getattr(delivery, name)
            assert value == getattr(stored, name)
            assert value.utcoffset() == timedelta(0)  # aware, in the connection's zone (UTC)
        assert delivery.enrollment.anchor_at == enrollment.anchor_at
        assert delivery.enrollment.created_at == enrollment.created_at
        # The Message-ID is signed over the creation time's text: the same from either read.
        assert message_id(delivery, "shop.example.jp") == message_id(stored, "shop.example.jp")


@pytest.mark.django_db
def test_purchase_history_finds_orders_by_account_guest_address_and_any_case():
    from django.contrib.auth import get_user_model

    bought_as_guest, bought_with_account, bought_by_user_id = product("麻のシャツ"), product("帽子"), product("靴下")
    order(bought_as_guest, guest_email="Guest.Buyer@Example.jp")
    user = get_user_model().objects.create_user("member", "Member@Example.jp", "pw")
    order(bought_with_account, user=user)
    other = get_user_model().objects.create_user("other", "other@example.jp", "pw")
    order(bought_by_user_id, user=other)
    order(product("手袋"), guest_email="stranger@example.jp")

    found = {(user_id, guest, account, product) for user_id, guest, account, product, _ in
             _history_rows([other.pk], ["guest.buyer@example.jp", "member@example.jp"])}
    assert found == {
        (None, "guest.buyer@example.jp", None, bought_as_guest.pk),
        (user.pk, "", "member@example.jp", bought_with_account.pk),
        (other.pk, "", "other@example.jp", bought_by_user_id.pk),
    }
