"""``stepmail_simulate_events``: simulated opens, clicks and orders go through anymail and show
up in the report and its chart."""

import io
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import translation

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Conversion, DeliveryEvent, SequencePage
from stepmail_plugin.reports.chart import funnel_chart
from stepmail_plugin.reports.funnel import sequence_report

from .factories import make_sequence, place_order

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    # Orders are attributed on commit (as after a real checkout); tests run inside a transaction.
    # Its summary in English here, to read the counts by name (the shop's language is Japanese).
    with TestCase.captureOnCommitCallbacks(execute=True), translation.override("en"):
        call_command("stepmail_simulate_events", *args, stdout=out, stderr=io.StringIO())
    return {name: int(n) for name, n in re.findall(r"([a-z][a-z ]*?):? (\d+)", out.getvalue())}


@pytest.mark.parametrize("via", ["webhook", "signal"])
def test_simulated_events_and_orders_show_in_the_report_and_chart(via):
    sequence = make_sequence("シミュレーション", steps=[{"subject": "ありがとう", "delay": 0}])
    for i in range(30):
        place_order(guest_email=f"sim{i}@example.jp")
    dispatch_due()
    done = run("--via", via, "--open-rate", "1", "--click-rate", "0.5", "--order-rate", "0.5",
               "--bounce-rate", "0", "--unsubscribe-rate", "0", "--seed", "3")
    assert done["delivered"] == 30 and done["opened"] == 30
    assert 5 <= done["clicked"] <= 25 and done["orders"] >= 1
    assert done["credited to a mail"] == done["orders"] == Conversion.objects.count()
    assert DeliveryEvent.objects.filter(esp_name="Postmark" if via == "webhook" else "Simulated").count() == (
        30 + 30 + done["clicked"])

    row = sequence_report(SequencePage.objects.get(pk=sequence.pk)).rows[0]
    assert (row.sent, row.opened, row.clicked, row.converted) == (30, 30, done["clicked"], done["orders"])
    assert row.revenue > 0
    svg = ET.fromstring(str(funnel_chart([row])))
    values = {r.get("data-series"): int(r.get("data-value")) for r in svg.iter() if r.get("data-series")}
    assert values == {"sent": 30, "opened": 30, "clicked": done["clicked"], "converted": done["orders"]}

    # Mails that already have events are left alone: running again adds nothing.
    assert run("--via", via, "--seed", "3")["delivered"] == 0
