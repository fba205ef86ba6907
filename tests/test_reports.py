"""Reports in the Wagtail admin: funnel numbers on a fixture with known counts, the SVG chart,
the date filter, CSV and XLSX export, A/B and holdout panels, and the dashboard panel."""

import csv
import io
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from openpyxl import load_workbook

from stepmail_plugin.models import (
    Contact,
    Conversion,
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    StepEmailPage,
)
from stepmail_plugin.reports.chart import funnel_chart
from stepmail_plugin.reports.funnel import sequence_report

from .factories import make_sequence, wagtail_root

# These tests read English labels; the shop itself stays Japanese.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def funnel():
    """Ten people through a two-step sequence, with known outcomes (see the asserts)."""
    sequence = make_sequence("フォロー", steps=[{"subject": "ありがとう", "delay": 0}, {"subject": "3日後", "delay": 3}])
    step1, step2 = StepEmailPage.objects.child_of(sequence).order_by("path")
    now = timezone.now()
    people = []
    for i in range(10):
        contact = Contact.objects.create(email=f"p{i}@example.jp")
        enrollment = Enrollment.objects.create(sequence=sequence, contact=contact, trigger="custom",
                                               anchor_at=now - timedelta(days=4))
        people.append(enrollment)

    def delivery(enrollment, step, status=DeliveryStatus.SENT, **fields):
        return Delivery.objects.create(enrollment=enrollment, step=step, step_path=step.path, status=status,
                                       due_at=now, sent_at=now if status == DeliveryStatus.SENT else None, **fields)

    def event(d, kind, n=[0]):
        n[0] += 1
        DeliveryEvent.objects.create(delivery=d, event_type=kind, occurred_at=now, dedupe_key=f"k{n[0]}",
                                     url="https://shop.example.jp/blog/?utm_source=stepmail" if kind == "clicked" else "")

    first = [delivery(e, step1, opened_at=now if i < 6 else None, clicked_at=now if i < 3 else None)
             for i, e in enumerate(people)]
    for d in first[:3]:
        event(d, "clicked")
    event(first[0], "clicked")  # a second click by the same person
    event(first[9], "bounced")
    event(first[8], "unsubscribed")
    Conversion.objects.create(order_key="order.order:1", order_number="100001", delivery=first[0], method="click",
                              amount=Decimal("5000"), ordered_at=now)
    Enrollment.objects.filter(pk=people[9].pk).update(status=EnrollmentStatus.EXITED, exit_reason="bounced")
    Enrollment.objects.filter(pk=people[8].pk).update(status=EnrollmentStatus.EXITED, exit_reason="unsubscribed")
    for i, e in enumerate(people[:7]):
        delivery(e, step2, opened_at=now if i < 2 else None, clicked_at=now if i < 1 else None)
    delivery(people[7], step2, DeliveryStatus.SCHEDULED)
    delivery(people[8], step2, DeliveryStatus.CANCELLED, reason="unsubscribed")
    return sequence


@pytest.fixture
def admin_client(client):
    wagtail_root()
    user = get_user_model().objects.create_superuser("editor", "editor@example.jp", "pw")
    client.force_login(user)
    return client


def test_funnel_numbers_on_known_counts(funnel):
    report = sequence_report(funnel)
    first, second = report.rows
    assert (first.sent, first.bounced, first.delivered, first.opened, first.clicked) == (10, 1, 9, 6, 3)
    assert (first.converted, first.revenue, first.unsubscribed) == (1, Decimal("5000"), 1)
    assert first.open_rate_pct == 66.67 and first.click_rate_pct == 33.33 and first.conversion_rate_pct == 11.11
    assert first.click_to_open_pct == 50.0 and first.bounce_rate_pct == 10.0
    assert (first.continued, first.waiting, first.dropped, first.dropoff_pct) == (7, 1, 2, 20.0)
    assert first.drop_reasons == {"cancelled: unsubscribed": 1, "exited: bounced": 1}
    assert first.links == [{"url": "https://shop.example.jp/blog/", "total": 4, "people": 3}]
    assert (second.sent, second.delivered, second.opened, second.clicked, second.pending, second.cancelled) == (
        7, 7, 2, 1, 1, 1)
    assert second.counts.reasons == {"cancelled: unsubscribed": 1}
    assert second.dropped is None  # the last step
    assert (report.enrolled, report.totals.sent, report.totals.revenue) == (10, 17, Decimal("5000"))


def test_chart_is_svg_with_a_bar_per_step_and_series(funnel):
    svg = ET.fromstring(str(funnel_chart(sequence_report(funnel).rows)))
    bars = {(r.get("data-step"), r.get("data-series")): int(r.get("data-value"))
            for r in svg.iter(f"{SVG}rect") if r.get("data-series")}
    assert bars == {("1", "sent"): 10, ("1", "opened"): 6, ("1", "clicked"): 3, ("1", "converted"): 1,
                    ("2", "sent"): 7, ("2", "opened"): 2, ("2", "clicked"): 1, ("2", "converted"): 0}
    heights = {k: float(r.get("height")) for r in svg.iter(f"{SVG}rect") if (k := (r.get("data-step"), r.get("data-series")))[1]}
    assert heights[("1", "sent")] == pytest.approx(2 * heights[("1", "converted")] * 5)  # 10 vs 1 on one scale
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("data-dropoff")] == ["drop-off 20.0%"]


def test_the_report_page_export_and_date_filter(funnel, admin_client):
    url = f"/cms/stepmail/reports/sequence/{funnel.pk}/"
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and 'data-stepmail-funnel' in html and "https://shop.example.jp/blog/" in html

    rows = list(csv.DictReader(io.StringIO(b"".join(admin_client.get(url + "?export=csv").streaming_content).decode())))
    assert [(r["Step"], r["Sent"], r["Opened"], r["Open rate (%)"], r["Drop-off (%)"]) for r in rows] == [
        ("1", "10", "6", "66.67", "20.0"), ("2", "7", "2", "28.57", "")]

    workbook = load_workbook(io.BytesIO(b"".join(admin_client.get(url + "?export=xlsx").streaming_content)))
    sheet = list(workbook.active.values)
    headings = list(sheet[0])
    assert sheet[1][headings.index("Revenue")] == 5000 and sheet[1][headings.index("Clicked")] == 3

    # Only people who entered in the chosen period count.
    Enrollment.objects.filter(contact__email__in=["p0@example.jp", "p1@example.jp"]).update(
        anchor_at=timezone.now() - timedelta(days=60))
    since = (timezone.localdate() - timedelta(days=10)).isoformat()
    filtered = list(csv.DictReader(io.StringIO(b"".join(
        admin_client.get(url + f"?export=csv&enrolled_from={since}").streaming_content).decode())))
    assert [r["Sent"] for r in filtered] == ["8", "5"]


def test_index_report_and_menu_and_dashboard(funnel, admin_client):
    response = admin_client.get("/cms/stepmail/reports/")
    assert response.status_code == 200
    assert f"/cms/stepmail/reports/sequence/{funnel.pk}/" in response.content.decode()
    rows = list(csv.DictReader(io.StringIO(b"".join(
        admin_client.get("/cms/stepmail/reports/?export=csv").streaming_content).decode())))
    assert [(r["Sequence"], r["Entered"], r["Sent"], r["Converted"]) for r in rows] == [("フォロー", "10", "17", "1")]
    home = admin_client.get("/cms/").content.decode()
    assert "data-stepmail-dashboard" in home and "17 mails sent today" in home
    assert "/cms/stepmail/reports/" in home  # the Reports menu item


def test_reports_are_not_for_everyone(client, funnel):
    wagtail_root()
    user = get_user_model().objects.create_user("visitor", "v@example.jp", "pw")
    client.force_login(user)
    assert client.get("/cms/stepmail/reports/").status_code in (302, 403)


def test_ab_result_is_shown_and_the_editor_promotes_the_winner(admin_client):
    from stepmail_plugin.models import ABDecision, StepVariant

    from .test_ab_tests import fake_results

    sequence = make_sequence("AB", steps=[{"subject": "元", "delay": 0}])
    step = StepEmailPage.objects.get()
    variant = StepVariant.objects.create(step=step, name="B: 短い件名", weight=1, subject="短い")
    fake_results(step, variant, {None: (120, 6), variant: (120, 20)})
    html = admin_client.get(f"/cms/stepmail/reports/sequence/{sequence.pk}/").content.decode()
    assert 'data-stepmail-ab-status="winner"' in html and "99.8%" in html and "B: 短い件名" in html
    response = admin_client.post(f"/cms/stepmail/reports/step/{step.pk}/promote/")
    assert response.status_code == 302
    decision = ABDecision.objects.get()
    assert (decision.winner_id, decision.automatic, decision.decided_by.username) == (variant.pk, False, "editor")
    html = admin_client.get(f"/cms/stepmail/reports/sequence/{sequence.pk}/").content.decode()
    assert 'data-stepmail-ab-status="promoted"' in html
    admin_client.post(f"/cms/stepmail/reports/step/{step.pk}/restart/")
    assert not ABDecision.objects.exists()


def test_reports_have_no_search_box_that_would_search_nothing(funnel, admin_client):
    from stepmail_plugin.models import SequencePage

    sequence = SequencePage.objects.first()
    for url in ("/cms/stepmail/reports/", f"/cms/stepmail/reports/sequence/{sequence.pk}/"):
        html = admin_client.get(url).content.decode()
        assert 'id="id_q"' not in html, url  # (the sidebar's own search is menu-search-q)


def test_an_empty_chart_says_so_in_the_editors_language():
    from django.utils import translation

    with translation.override("ja"):
        svg = str(funnel_chart([]))
    assert "この期間に送信したメールはまだありません。" in svg


@pytest.mark.parametrize("largest", [1, 2, 3, 5, 7, 10, 26, 99, 100, 101, 1234])
def test_chart_axis_labels_are_the_values_of_their_grid_lines(largest):
    """A bar of value v reaches exactly the grid line labelled v (labels were truncated: the
    line at 2.5 read "2", so a bar of 2 stood visibly below it)."""
    from types import SimpleNamespace

    from stepmail_plugin.tracking.metrics import Counts

    rows = [SimpleNamespace(position=1, title="1通目", dropoff_pct=None, counts=Counts(total=largest, sent=largest)),
            SimpleNamespace(position=2, title="2通目", dropoff_pct=None, counts=Counts(total=1, sent=1))]
    svg = ET.fromstring(str(funnel_chart(rows)))
    ns = {"s": "http://www.w3.org/2000/svg"}
    lines = svg.findall("s:line", ns)
    labels = [t for t in svg.findall("s:text", ns) if t.get("text-anchor") == "end"]
    ticks = {int(t.text): float(line.get("y1")) for t, line in zip(labels, lines)}
    values = sorted(ticks)
    step = values[1] - values[0]
    assert all(b - a == step for a, b in zip(values, values[1:]))  # evenly spaced whole numbers
    assert values[-1] >= largest
    zero, top = ticks[0], ticks[values[-1]]
    for bar in svg.findall("s:rect[@data-series]", ns):
        value, y = int(bar.get("data-value")), float(bar.get("y"))
        assert y == pytest.approx(zero - (zero - top) * value / values[-1], abs=0.11)
        if value in ticks:
            assert y == pytest.approx(ticks[value], abs=0.11)
