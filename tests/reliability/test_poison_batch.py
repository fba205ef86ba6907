"""Poison addresses and a step that cannot render, in one batch with good mail: the good mail goes
out once, each failure is recorded with its reason, and none of them stalls the queue.
(A tool in this field resent a whole batch forever because one recipient was rejected.)"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, EnrollmentStatus, StepEmailPage

from .conftest import make_due, report

POISON = {
    "poison@example.jp": "send_error",  # the ESP raises an error that cannot even be printed
    "invalid-recipient@example.jp": "esp_400",  # the ESP refuses the address for good
    "not-an-address": "invalid_address",
    "evil@example.jp\nBcc: everyone@example.jp": "invalid_address",  # header injection
    "名前@例え.jp": "invalid_address",  # internationalised local part: not an address we can send to
}


def settle(ticks=8):
    """Run ticks as time passes, until retries are spent."""
    now = timezone.now()
    results = []
    for _ in range(ticks):
        with time_machine.travel(now, tick=False):
            results.append(dispatch_due(batch_size=500))
        now += timedelta(hours=7)
    return results


@pytest.mark.django_db
def test_poison_addresses_and_a_broken_step_do_not_stop_the_batch(esp):
    good = [f"good{i}@example.jp" for i in range(40)]
    emails = good[:20] + list(POISON) + good[20:]
    make_due(len(emails), emails=emails)
    broken = make_due(10, prefix="broken")
    # Content that fails to render (written past validation, e.g. by a faulty import).
    StepEmailPage.objects.child_of(broken).update(subject="{{ settings.SECRET_KEY }} {% debug %}")
    broken_ids = set(Delivery.objects.filter(enrollment__sequence=broken).values_list("pk", flat=True))
    good_ids = set(Delivery.objects.filter(enrollment__contact__email__in=good).values_list("pk", flat=True))

    first, *later = settle()

    assert first.batches == 1 and first.claimed == len(emails) + 10  # all in one batch
    assert first.sent == len(good)  # the good ones went out with the first tick
    counts = esp.counts(good_ids)
    assert (counts["sent"], counts["duplicates"], counts["lost"], counts["unexpected"]) == (40, 0, 0, 0)

    for email, reason in POISON.items():
        delivery = Delivery.objects.get(enrollment__contact__email=email)
        assert (delivery.status, delivery.reason) == (DeliveryStatus.FAILED, reason), email
        assert delivery.error
    injection = Delivery.objects.get(enrollment__contact__email__startswith="evil@")
    assert injection.enrollment.status == EnrollmentStatus.EXITED
    assert Delivery.objects.get(enrollment__contact__email="poison@example.jp").error.startswith("UnprintableError")
    for delivery in Delivery.objects.filter(pk__in=broken_ids):
        assert (delivery.status, delivery.reason) == (DeliveryStatus.FAILED, "render_error")
        assert "MergeSyntaxError" in delivery.error and "{{ settings.SECRET_KEY }}" in delivery.error
        assert "stepmail-tests-not-secret" not in delivery.error
    report("poison addresses + unrenderable step in one batch", good=len(good), **counts,
           failed=Delivery.objects.filter(status=DeliveryStatus.FAILED).count(),
           ticks_until_settled=1 + sum(1 for r in later if r.claimed))
    assert not Delivery.objects.filter(status=DeliveryStatus.SCHEDULED, step__title="3日後").exists()
