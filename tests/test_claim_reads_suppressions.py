"""On PostgreSQL the claim statement also reads the suppressions of the batch's addresses."""

import uuid

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings

from stepmail_plugin.dispatch import claim_deliveries, dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, Suppression

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


class SuppressionsElsewhere:
    """Routes suppressions to another database alias (a mirror of the test database here): the
    claim can then not read them in its statement and the batch's loading reads them instead."""

    def db_for_read(self, model, **hints):
        return "elsewhere" if model is Suppression else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return True


@pytest.mark.django_db(transaction=True, databases=["default", "elsewhere"])
def test_suppressions_in_another_database_still_stop_their_mails():
    make_sequence(steps=[{"subject": "当日", "delay": 0}])
    with override_settings(DATABASE_ROUTERS=[SuppressionsElsewhere()]):
        for email in ("a@example.jp", "b@example.jp", "c@example.jp"):
            place_order(guest_email=email)
        Suppression.objects.create(email="b@example.jp", reason="bounced")
        # Batches of one: the second and third are claimed ahead in the background thread.
        result = dispatch_due(batch_size=1)
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.jp", "c@example.jp"]
    assert (result.batches, result.sent) == (3, 2)
    skipped = Delivery.objects.get(enrollment__contact__email="b@example.jp")
    assert (skipped.status, skipped.reason) == (DeliveryStatus.SKIPPED, "bounced")
