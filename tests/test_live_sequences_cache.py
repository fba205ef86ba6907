"""Enrollment keeps the live sequences of a trigger between orders, and forgets them whenever an
editor publishes, unpublishes, moves or deletes a sequence or step.

The cache is used outside transactions only (as after Oscar's checkout commits), so these tests
run without the test-wide transaction.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stepmail_plugin.models import Delivery, Enrollment

from .factories import add_step, make_sequence, place_order

pytestmark = pytest.mark.django_db(transaction=True)


def sequences_of(email):
    return sorted(Enrollment.objects.filter(contact__email=email).values_list("sequence__title", flat=True))


def first_step_of(email):
    return Delivery.objects.get(enrollment__contact__email=email).step.title


def test_the_second_order_does_not_load_the_sequences_again():
    make_sequence("購入後フォロー", steps=[{"subject": "当日"}])
    place_order(guest_email="first@example.jp")
    with CaptureQueriesContext(connection) as queries:
        place_order(guest_email="second@example.jp")
    assert sequences_of("second@example.jp") == ["購入後フォロー"]
    assert not [q for q in queries.captured_queries if "stepmail_sequencepage" in q["sql"]]


def test_a_sequence_published_later_enrolls_the_next_orders():
    make_sequence("購入後フォロー", steps=[{"subject": "当日"}])
    place_order(guest_email="before@example.jp")
    make_sequence("レビュー依頼", steps=[{"subject": "レビューのお願い"}])
    place_order(guest_email="after@example.jp")
    assert sequences_of("before@example.jp") == ["購入後フォロー"]
    assert sequences_of("after@example.jp") == ["レビュー依頼", "購入後フォロー"]


def test_an_unpublished_sequence_enrolls_nobody_from_then_on():
    sequence = make_sequence("購入後フォロー", steps=[{"subject": "当日"}])
    place_order(guest_email="before@example.jp")
    sequence.unpublish()
    place_order(guest_email="after@example.jp")
    assert sequences_of("after@example.jp") == []


def test_a_deleted_sequence_is_forgotten_and_the_others_still_enroll():
    doomed = make_sequence("削除予定", steps=[{"subject": "当日"}])
    make_sequence("購入後フォロー", steps=[{"subject": "当日"}])
    place_order(guest_email="before@example.jp")
    doomed.delete()
    place_order(guest_email="after@example.jp")
    assert sequences_of("after@example.jp") == ["購入後フォロー"]


def test_deleting_the_first_step_makes_the_next_one_first():
    sequence = make_sequence("購入後フォロー", steps=[{"subject": "当日", "title": "一通目"}])
    add_step(sequence, subject="3日後", delay=3, title="二通目")
    place_order(guest_email="before@example.jp")
    sequence.get_steps().get(title="一通目").delete()
    place_order(guest_email="after@example.jp")
    assert first_step_of("after@example.jp") == "二通目"


def test_moving_a_step_to_the_front_makes_it_first():
    sequence = make_sequence("購入後フォロー", steps=[{"subject": "当日", "title": "一通目"}])
    add_step(sequence, subject="同じく当日", delay=0, title="二通目")
    place_order(guest_email="before@example.jp")
    steps = sequence.get_steps()
    steps.get(title="二通目").move(steps.get(title="一通目"), pos="left")
    place_order(guest_email="after@example.jp")
    assert first_step_of("after@example.jp") == "二通目"


def test_republishing_a_step_with_a_new_delay_is_used_for_the_next_order():
    sequence = make_sequence("購入後フォロー", steps=[{"subject": "当日", "title": "一通目"}])
    place_order(guest_email="before@example.jp")
    step = sequence.get_steps().get().specific
    step.delay_value = 2
    step.save_revision().publish()
    order = place_order(guest_email="after@example.jp")
    delivery = Delivery.objects.get(enrollment__contact__email="after@example.jp")
    assert (delivery.due_at - order.date_placed).days == 2
