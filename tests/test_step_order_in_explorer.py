"""Reordering steps in Wagtail's page explorer (drag and drop) or moving a step into another
sequence keeps the rule of the step form: a later step's delay may not be shorter than an earlier
one's. A reorder that breaks it is refused with the reason; one that keeps it goes through."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from stepmail_plugin.models import StepEmailPage

from .builders import with_step_rules
from .editor import superuser
from .factories import make_sequence

pytestmark = pytest.mark.django_db

STEPS = [
    {"subject": "当日のお礼", "delay": 0},
    {"subject": "3日後のフォロー", "delay": 3},
    {"subject": "3日後のアンケート", "delay": 3},
    {"subject": "7日後のおすすめ", "delay": 7},
]


def titles(sequence):
    return [step.title for step in sequence.get_steps()]


def set_position(client, step, position):
    url = reverse("wagtailadmin_pages:set_page_position", args=[step.pk])
    return client.post(f"{url}?position={position}", HTTP_ACCEPT_LANGUAGE="ja")


@pytest.fixture
def sequence(client):
    client.force_login(superuser())
    return make_sequence("購入後フォロー", steps=STEPS)


def step(title):
    return StepEmailPage.objects.get(title=title)


def test_dragging_a_later_step_before_an_earlier_one_is_refused(client, sequence):
    response = set_position(client, step("7日後のおすすめ"), 0)
    assert response.status_code == 400
    message = response.content.decode()
    assert message.startswith("ステップは順番に送信されます")
    assert "「当日のお礼」（すぐに（当日））を「7日後のおすすめ」（7日後）の後ろに置くことはできません" in message
    # The order is unchanged, and the explorer shows the reason when it reloads.
    assert titles(sequence) == [s["subject"] for s in STEPS]
    assert [str(m) for m in get_messages(response.wsgi_request)] == [message]

    assert set_position(client, step("当日のお礼"), 3).status_code == 400
    assert titles(sequence) == [s["subject"] for s in STEPS]


def test_steps_with_the_same_delay_may_be_swapped(client, sequence):
    response = set_position(client, step("3日後のアンケート"), 1)
    assert response.status_code == 200
    assert titles(sequence) == ["当日のお礼", "3日後のアンケート", "3日後のフォロー", "7日後のおすすめ"]


def test_a_refill_step_counts_on_another_clock_and_may_go_anywhere(client, sequence):
    refill = with_step_rules(step("7日後のおすすめ"), delay_from="supply_end")
    assert set_position(client, refill, 0).status_code == 200
    assert titles(sequence)[0] == "7日後のおすすめ"


def test_the_explorer_reloads_when_a_reorder_is_refused(client, sequence):
    html = client.get(reverse("wagtailadmin_explore", args=[sequence.pk])).content.decode()
    assert "stepmail/step-order.js" in html
    assert 'data-controller="w-orderable' in html or "w-orderable" in html


def test_moving_a_step_into_another_sequence_goes_last_and_must_keep_the_order(client, sequence):
    other = make_sequence("ウェルカム", steps=[{"subject": "ようこそ", "delay": 0}, {"subject": "5日後", "delay": 5}])
    moving = step("3日後のフォロー")
    url = reverse("wagtailadmin_pages:move_confirm", args=[moving.pk, other.pk])
    response = client.post(url, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_explore", args=[other.pk])
    assert "「3日後のフォロー」（3日後）を「5日後」（5日後）の後ろに置くことはできません" in " ".join(
        str(m) for m in get_messages(response.wsgi_request))
    assert step("3日後のフォロー").get_parent().pk == sequence.pk

    late = step("7日後のおすすめ")
    response = client.post(reverse("wagtailadmin_pages:move_confirm", args=[late.pk, other.pk]))
    assert response.status_code == 302
    assert titles(other) == ["ようこそ", "5日後", "7日後のおすすめ"]


def test_the_timeline_warns_when_steps_are_out_of_order_anyway(client, sequence):
    """Moved by code (which no admin check sees): the sequence's timeline says so."""
    edit = reverse("wagtailadmin_pages:edit", args=[sequence.pk])
    assert "data-stepmail-timeline-order" not in client.get(edit).content.decode()
    step("7日後のおすすめ").move(step("当日のお礼"), pos="left")
    html = client.get(edit, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "data-stepmail-timeline-order" in html
    assert "「当日のお礼」（すぐに（当日））を「7日後のおすすめ」（7日後）の後ろに置くことはできません" in html
