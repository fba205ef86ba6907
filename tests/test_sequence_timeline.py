"""The timeline panel in a sequence's page editor: one entry per step in tree order with its timing,
subject, state and numbers, links to the step's deliveries for those who may see them, a fixed
number of queries, and a page editor that still creates and saves sequences."""

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from wagtail.test.utils.form_data import querydict_from_html

from stepmail_plugin.models import (
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    SequenceIndexPage,
    SequencePage,
    StepEmailPage,
    StepVariant,
)
from stepmail_plugin.panels import SequenceTimelinePanel

from .editor import editor, superuser
from .factories import add_step, make_sequence

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def deliver(step, status, n, *, opened=0, clicked=0, prefix="p"):
    """``n`` people who reached ``step`` with ``status`` (the first ``opened`` opened it…)."""
    now = timezone.now()
    sequence = step.get_parent()
    for i in range(n):
        contact = Contact.objects.create(email=f"{prefix}{step.pk}-{status}-{i}@example.jp")
        enrollment = Enrollment.objects.create(
            sequence_id=sequence.pk, contact=contact, trigger="order_placed", anchor_at=now - timedelta(days=4)
        )
        Delivery.objects.create(
            enrollment=enrollment, step=step, step_path=step.path, status=status, due_at=now,
            sent_at=now if status == DeliveryStatus.SENT else None,
            opened_at=now if i < opened else None, clicked_at=now if i < clicked else None,
        )


@pytest.fixture
def sequence():
    """Day 0 (sent to 4: 2 opened, 1 clicked; 1 failed, 1 uncertain), day 3 (3 waiting, 1 sent,
    1 skipped; an A/B test), and a day-7 step never published."""
    sequence = make_sequence("購入後フォロー", steps=[
        {"subject": "ご購入ありがとうございます", "delay": 0},
        {"subject": "商品は届きましたか？", "delay": 3},
    ])
    draft = add_step(sequence, "おすすめ", delay=7, publish=False)
    revision = draft.get_latest_revision_as_object()
    revision.subject = "新作のおすすめ"  # saved since, not published
    revision.save_revision()
    first, second, _ = sequence.get_steps()
    StepVariant.objects.create(step=second, name="B: 短い件名", subject="届きました？")
    deliver(first, DeliveryStatus.SENT, 4, opened=2, clicked=1)
    deliver(first, DeliveryStatus.FAILED, 1)
    deliver(first, DeliveryStatus.UNCERTAIN, 1)
    deliver(second, DeliveryStatus.SCHEDULED, 3)
    deliver(second, DeliveryStatus.SENT, 1)
    deliver(second, DeliveryStatus.SKIPPED, 1)
    Enrollment.objects.filter(deliveries__status=DeliveryStatus.SKIPPED).update(
        status=EnrollmentStatus.EXITED, exit_reason="purchased"
    )
    return sequence


def timeline_of(client, page):
    response = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser").find(attrs={"data-stepmail-timeline": True})


def entries(timeline):
    found = {}
    for item in timeline.find_all(attrs={"data-stepmail-timeline-step": True}):
        def text(attr):
            return item.find(attrs={attr: True}).get_text(" ", strip=True)

        found[int(item["data-stepmail-timeline-step"])] = {
            "when": text("data-when"),
            "subject": text("data-subject"),
            "states": [tag["data-state"] for tag in item.find_all(attrs={"data-state": True})],
            "waiting": text("data-waiting"),
            "sent": text("data-sent"),
            "failed": text("data-failed"),
            "skipped": text("data-skipped"),
            "open": text("data-open-rate"),
            "click": text("data-click-rate"),
            "links": [a["href"] for a in item.find_all("a")],
        }
    return found


def test_one_entry_per_step_in_tree_order_with_its_numbers(client, sequence):
    client.force_login(superuser())
    timeline = timeline_of(client, sequence)
    steps = entries(timeline)
    assert [steps[n]["when"] for n in (1, 2, 3)] == ["Right away", "3 days later", "7 days later"]
    assert steps[1] | {"links": None} == {
        "when": "Right away", "subject": "ご購入ありがとうございます", "states": ["live"], "waiting": "0",
        "sent": "4", "failed": "2", "skipped": "0", "open": "50.0%", "click": "25.0%", "links": None,
    }
    assert (steps[2]["waiting"], steps[2]["sent"], steps[2]["skipped"], steps[2]["states"]) == (
        "3", "1", "1", ["live", "ab"])
    # Never published: what its editor saved last, no numbers yet.
    assert (steps[3]["subject"], steps[3]["states"], steps[3]["sent"], steps[3]["open"]) == (
        "新作のおすすめ", ["draft"], "0", "—")
    people = timeline.find(attrs={"data-stepmail-timeline-people": True}).get_text(" ", strip=True)
    assert "10 people in the sequence now, 1 finished or left" in people


def test_the_links_open_the_deliveries_of_that_step(client, sequence):
    client.force_login(superuser())
    first, second, _ = sequence.get_steps()
    steps = entries(timeline_of(client, sequence))
    index = reverse("stepmail_delivery_modeladmin_index")
    assert f"{index}?step={second.pk}&status__exact=scheduled" in steps[2]["links"]
    assert f"{index}?step={first.pk}&attention=yes" in steps[1]["links"]

    waiting = client.get(f"{index}?step={second.pk}&status__exact=scheduled").content.decode()
    assert waiting.count(f"p{second.pk}-scheduled-") == 3
    assert f"p{first.pk}-" not in waiting
    needs_a_look = client.get(f"{index}?step={first.pk}&attention=yes").content.decode()
    assert f"p{first.pk}-failed-0" in needs_a_look and f"p{first.pk}-uncertain-0" in needs_a_look
    assert f"p{first.pk}-sent-" not in needs_a_look


def test_editors_see_the_numbers_but_not_customers_deliveries(client, sequence):
    index = SequenceIndexPage.objects.get()
    client.force_login(editor(index))
    steps = entries(timeline_of(client, sequence))
    assert steps[2]["waiting"] == "3"
    assert not any("modeladmin" in href or "/stepmail/delivery/" in href for href in steps[2]["links"])
    assert client.get(reverse("stepmail_delivery_modeladmin_index")).status_code == 302  # no access

    client.force_login(editor(index, "ops@shop.example.jp", username="ops", extra=["stepmail.view_delivery"]))
    assert any("?step=" in href for href in entries(timeline_of(client, sequence))[2]["links"])


def test_people_who_may_not_edit_the_sequence_do_not_see_it(client, sequence):
    other = SequenceIndexPage(title="別のフォルダ", slug="other")
    SequenceIndexPage.objects.get().get_parent().add_child(instance=other)
    client.force_login(editor(other, "outsider@shop.example.jp", username="outsider"))
    response = client.get(reverse("wagtailadmin_pages:edit", args=[sequence.pk]))
    assert response.status_code in (302, 403)
    assert b"data-stepmail-timeline" not in response.content


def render_panel(sequence, user):
    panel = next(
        p for tab in SequencePage.get_edit_handler().children for p in tab.children
        if isinstance(p, SequenceTimelinePanel)
    )
    request = RequestFactory().get("/")
    request.user = user
    bound = panel.get_bound_panel(instance=sequence, request=request, form=None)
    with CaptureQueriesContext(connection) as queries:
        html = bound.render_html({"request": request})
    return html, len(queries)


def test_a_constant_number_of_queries_whatever_the_number_of_steps(sequence):
    user = superuser()
    small = make_sequence("二通", steps=[{"subject": f"{n}通目", "delay": n} for n in range(2)])
    large = make_sequence("六通", steps=[{"subject": f"{n}通目", "delay": n} for n in range(6)])
    for seq in (small, large):
        for step in seq.get_steps():
            deliver(step, DeliveryStatus.SENT, 2, opened=1, prefix=f"s{seq.pk}-")
            deliver(step, DeliveryStatus.SCHEDULED, 1, prefix=f"s{seq.pk}-")
    html_small, n_small = render_panel(small, user)
    html_large, n_large = render_panel(large, user)
    assert html_small.count("data-stepmail-timeline-step=") == 2
    assert html_large.count("data-stepmail-timeline-step=") == 6
    assert n_small == n_large <= 8


def test_creating_a_new_sequence_still_works_and_shows_no_timeline(client):
    client.force_login(superuser())
    index = make_sequence("既存", steps=[]).get_parent()
    add_url = reverse("wagtailadmin_pages:add", args=["stepmail", "sequencepage", index.pk])
    page = client.get(add_url)
    assert page.status_code == 200 and b"data-stepmail-timeline" not in page.content
    data = querydict_from_html(page.content.decode(), form_id="page-edit-form").dict()
    data.update(title="新しいシナリオ", slug="new-scenario", trigger="user_registered")
    response = client.post(add_url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    created = SequencePage.objects.get(slug="new-scenario")
    # The empty sequence's editor tells how to start.
    timeline = timeline_of(client, created)
    assert reverse("wagtailadmin_pages:add", args=["stepmail", "stepemailpage", created.pk]) in str(timeline)


def test_saving_the_sequence_with_the_panel_on_the_page(client, sequence):
    client.force_login(superuser())
    url = reverse("wagtailadmin_pages:edit", args=[sequence.pk])
    data = querydict_from_html(client.get(url).content.decode(), form_id="page-edit-form").dict()
    data["description"] = "購入者へのフォロー"
    assert client.post(url, data).status_code == 302
    assert SequencePage.objects.get(pk=sequence.pk).get_latest_revision_as_object().description == "購入者へのフォロー"


def test_subjects_show_merge_fields_by_name_not_as_tags(client):
    sequence = make_sequence("お礼", steps=[
        {"subject": '{{ last_name|default:"お客様" }}様、{{ order_number }}のご注文ありがとうございます', "delay": 0},
    ])
    client.force_login(superuser())
    subject = timeline_of(client, sequence).find(attrs={"data-subject": True})
    assert subject.get_text("", strip=True) == "{Last name}様、{Order number}のご注文ありがとうございます"
    assert [chip["data-merge-field"] for chip in subject.find_all(class_="stepmail-merge-chip")] == [
        "last_name", "order_number"]
    assert "{{" not in subject.get_text()
    # In the Japanese admin, with the Japanese names; the chips' style is loaded with the panel.
    html = client.get(reverse("wagtailadmin_pages:edit", args=[sequence.pk]), HTTP_ACCEPT_LANGUAGE="ja")
    soup = BeautifulSoup(html.content, "html.parser")
    subject = soup.find(attrs={"data-stepmail-timeline": True}).find(attrs={"data-subject": True})
    assert subject.get_text("", strip=True) == "{姓}様、{注文番号}のご注文ありがとうございます"
    assert "stepmail/merge-fields.css" in html.content.decode()


def test_a_subject_that_is_not_valid_merge_text_is_shown_as_written(client):
    sequence = make_sequence("お礼", steps=[{"subject": "ありがとう", "delay": 0}])
    step = sequence.get_steps().first()
    StepEmailPage.objects.filter(pk=step.pk).update(subject="<b>{{ unknown }}</b>")  # saved by code
    client.force_login(superuser())
    subject = timeline_of(client, sequence).find(attrs={"data-subject": True})
    assert subject.get_text() == "<b>{{ unknown }}</b>" and subject.find("b") is None


def test_one_person_is_counted_in_the_singular():
    from types import SimpleNamespace

    from django.template.loader import render_to_string
    from django.utils import translation

    counts = SimpleNamespace(sent=0, skipped=0, open_rate=None, click_rate=None)
    timeline = SimpleNamespace(in_progress=1, finished=2, steps=[SimpleNamespace(position=1, counts=counts)])
    with translation.override("en"):
        html = render_to_string("stepmail/editor/timeline_panel.html", {"timeline": timeline})
    assert "1 person in the sequence now, 2 finished or left." in " ".join(html.split())
    with translation.override("ja"):
        html = render_to_string("stepmail/editor/timeline_panel.html", {"timeline": timeline})
    assert "現在1人がシナリオに参加中、2人が完了または離脱しました。" in html
