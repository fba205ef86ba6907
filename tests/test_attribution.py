"""Orders credited to the mail that earned them: click and open windows, last touch, vouchers."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Conversion, Delivery, DeliveryStatus, EnrollmentOrder
from stepmail_plugin.tracking import attribution

from .factories import make_sequence, make_user, place_order, run_follow_ups
from .tracking_helpers import esp_event

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=TOKYO)


@pytest.fixture
def customer():
    make_sequence(steps=[{"subject": "ありがとう", "delay": 0}, {"subject": "3日後", "delay": 3}])
    user = make_user()
    with time_machine.travel(T0, tick=False):
        place_order(user=user, price=Decimal("4800"))
        dispatch_due()
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        dispatch_due()
    first, second = Delivery.objects.filter(status=DeliveryStatus.SENT).order_by("step__path")
    return user, first, second


def order_at(user, moment, price="12000"):
    """An order, and the dispatcher's next tick (which credits it)."""
    with time_machine.travel(moment, tick=False):
        order = place_order(user=user, price=Decimal(price))
        run_follow_ups()
        return order


def test_an_order_within_five_days_of_a_click_is_credited_with_its_revenue(customer):
    user, first, _second = customer
    esp_event(first, "clicked", T0 + timedelta(hours=2), click_url="https://shop.example.jp/bottoms/")
    order = order_at(user, T0 + timedelta(days=2, hours=23))  # before the day-3 mail, inside the window
    conversion = Conversion.objects.get()
    assert (conversion.delivery_id, conversion.method) == (first.pk, "click")
    assert conversion.amount == order.total_incl_tax and conversion.order_number == str(order.number)


def test_click_window_and_open_window_end(customer):
    user, first, second = customer
    esp_event(first, "clicked", T0 + timedelta(hours=1))
    order_at(user, T0 + timedelta(days=5, hours=2))  # click 5 days 1 hour ago: too old
    assert not Conversion.objects.exists()
    esp_event(second, "opened", T0 + timedelta(days=5, hours=3))
    order_at(user, T0 + timedelta(days=6, hours=4))  # open 25 hours ago: too old
    assert not Conversion.objects.exists()
    order_at(user, T0 + timedelta(days=6, hours=2))  # open 23 hours ago
    assert Conversion.objects.get().method == "open"


def test_the_latest_touch_wins_and_later_events_do_not_count(customer):
    user, first, second = customer
    esp_event(first, "clicked", T0 + timedelta(days=3, hours=1))
    esp_event(second, "opened", T0 + timedelta(days=3, hours=5))
    esp_event(first, "clicked", T0 + timedelta(days=3, hours=9))  # after the order
    order_at(user, T0 + timedelta(days=3, hours=6))
    conversion = Conversion.objects.get()
    assert (conversion.delivery_id, conversion.method) == (second.pk, "open")


def test_attributing_again_changes_nothing(customer):
    user, first, _second = customer
    esp_event(first, "clicked", T0 + timedelta(hours=1))
    order = order_at(user, T0 + timedelta(hours=3))
    attribution.attribute_order(order)
    attribution.attribute_order(order)
    assert Conversion.objects.count() == 1
    assert EnrollmentOrder.objects.filter(order_key__endswith=f":{order.pk}").count() == 1


def test_a_redeemed_voucher_is_a_hard_attribution(customer):
    user, first, second = customer
    esp_event(second, "clicked", T0 + timedelta(days=3, hours=1))

    def finder(codes):
        return first if "THANKS-10" in codes else None

    attribution.register_voucher_finder(finder)
    try:
        with time_machine.travel(T0 + timedelta(days=3, hours=2), tick=False):
            order = place_order(user=user)
        Conversion.objects.all().delete()
        conversion = attribution.attribute_order(order, voucher_codes=["THANKS-10"])
    finally:
        attribution._voucher_finders.remove(finder)
    assert (conversion.delivery_id, conversion.method) == (first.pk, "voucher")


def test_orders_count_against_recent_enrollments_but_not_the_one_they_started(customer):
    user, _first, _second = customer
    enrollment = Delivery.objects.first().enrollment
    order_at(user, T0 + timedelta(days=10))
    order_at(user, T0 + timedelta(days=45))  # beyond the 30-day outcome window of the first
    recorded = EnrollmentOrder.objects.filter(enrollment=enrollment)
    assert recorded.count() == 1
    assert recorded.get().ordered_at == T0 + timedelta(days=10)
