"""The ESP fails 30 % of calls transiently (503, 429, connection refused): every delivery is sent
eventually, once, each retry after its backoff. And an answer that never comes (a read timeout
after the ESP took the message) is not retried into a duplicate."""

from collections import defaultdict
from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due, retry_delay
from stepmail_plugin.models import Delivery, DeliveryStatus

from .conftest import make_due, report, statuses

N = 400


@pytest.mark.django_db
def test_a_flaky_esp_gets_every_mail_once_with_backoff(esp, monkeypatch, settings):
    # 30 % failures 10 times in a row happen to 6 in a million mails; with the default 6
    # attempts it would be 7 in 10,000, recorded as failed (never silently dropped).
    settings.STEPMAIL = {**settings.STEPMAIL, "MAX_ATTEMPTS": 10}
    monkeypatch.setenv("STEPMAIL_TEST_ESP_FAIL_RATE", "0.3")
    monkeypatch.setenv("STEPMAIL_TEST_ESP_SEED", "flaky")
    make_due(N)
    expected = set(Delivery.objects.values_list("pk", flat=True))

    ticks = 0
    now = timezone.now()
    while Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).exists() and ticks < 40:
        # The next moment anything is due: nothing is sent earlier than its backoff allows.
        now = max(now, Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).earliest("due_at").due_at)
        with time_machine.travel(now + timedelta(seconds=1), tick=False):
            dispatch_due()
        ticks += 1

    counts = esp.counts(expected)
    report("ESP failing 30 % transiently", deliveries=N, **counts, ticks=ticks)
    assert (counts["sent"], counts["duplicates"], counts["lost"]) == (N, 0, 0)
    assert counts["failed_calls"] > N * 0.2
    assert statuses() == {DeliveryStatus.SENT: N}

    # Each delivery's calls are spaced by at least its backoff: 1, 2, 4 … minutes.
    calls = defaultdict(list)
    for line in esp.lines("F") + esp.lines("S"):
        calls[int(line[1])].append(datetime.fromisoformat(line[4]))
    for pk, times in calls.items():
        times.sort()
        for attempt, (before, after) in enumerate(zip(times, times[1:]), start=1):
            assert after - before >= retry_delay(attempt), (pk, attempt)
    attempts = dict(Delivery.objects.values_list("pk", "attempts"))
    assert all(attempts[pk] == len(times) for pk, times in calls.items())
    assert not Delivery.objects.exclude(claim_token=None).exists()


@pytest.mark.django_db
def test_an_answer_that_never_came_is_uncertain_not_retried(esp):
    make_due(1, emails=["timeout@example.jp"])
    make_due(1, emails=["fine@example.jp"], prefix="f")
    result = dispatch_due()
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        dispatch_due()
    lost_answer = Delivery.objects.get(enrollment__contact__email="timeout@example.jp")
    assert (lost_answer.status, lost_answer.reason) == (DeliveryStatus.UNCERTAIN, "esp_no_answer")
    assert "Read timed out" in lost_answer.error
    assert (result.sent, result.uncertain) == (1, 1)
    assert [line[2] for line in esp.lines()] == ["timeout@example.jp", "fine@example.jp"]
