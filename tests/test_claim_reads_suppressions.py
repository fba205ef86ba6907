"""On PostgreSQL the claim statement also reads the suppressions of the batch's addresses."""

import uuid

import pytest
from django.db import connection

from stepmail_plugin.dispatch import claim_deliveries
from stepmail_plugin.models import Suppression

from .factories import make_sequence, place_order

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's one-statement claim")


@pytest.mark.django_db
def test_the_claim_returns_the_suppressions_of_its_addresses_only():
    sequence = make_sequence(steps=[{"subject": "当日", "delay": 0}])
    for email in ("a@example.jp", "b@example.jp"):
        place_order(guest_email=email)
    Suppression.objects.create(email="a@example.jp", reason="unsubscribed")
    Suppression.objects.create(email="a@example.jp", sequence=sequence, reason="manual")
    Suppression.objects.create(email="elsewhere@example.jp", reason="bounced")
    claimed = claim_deliveries(uuid.uuid4(), 10)
    assert len(claimed) == 2
    assert sorted(claimed.suppressions, key=str) == sorted(
        [("a@example.jp", None, "unsubscribed"), ("a@example.jp", sequence.pk, "manual")], key=str
    )
