"""Due-time arithmetic: send windows, weekdays, time zones with and without DST, frequency caps.

Property-based (hypothesis) where a rule is general, with worked examples for the cases people
ask about (a mail due at night, a Friday-evening order, the nights the clocks change).
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from stepmail_plugin.models import Contact, Enrollment, SequencePage, StepEmailPage
from stepmail_plugin.scheduling import (
    SendWindow,
    cap_release,
    due_at_for,
    local_instant,
    parse_caps,
    raw_due_at,
    zone_for,
)

NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
zones = st.sampled_from([NEW_YORK, TOKYO])
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
ten_minutes = st.integers(min_value=0, max_value=143).map(lambda n: time(n // 6, (n % 6) * 10))


@st.composite
def windows(draw):
    start = draw(st.none() | ten_minutes)
    end = draw(st.none() | ten_minutes)
    if start is not None and end is not None and end <= start:
        start, end = end, start
        if start == end:
            end = None
    weekdays = draw(st.frozensets(st.integers(0, 6), max_size=7))
    return SendWindow(start, end, weekdays)


def first_open_by_brute_force(window, moment, tz, until):
    """Any moment between ``moment`` and ``until`` (exclusive) at which the window is open."""
    probe = moment
    while probe < until:
        if window.contains(probe, tz):
            return probe
        probe += timedelta(minutes=5)
    return None


@settings(max_examples=300, deadline=None)
@given(window=windows(), moment=moments, tz=zones)
def test_a_mail_goes_out_at_the_first_moment_the_window_is_open(window, moment, tz):
    result = window.next_open(moment, tz)
    assert result >= moment
    assert window.contains(result, tz)
    assert result - moment <= timedelta(days=8)
    earlier = first_open_by_brute_force(window, moment, tz, result)
    assert earlier is None, f"open at {earlier} before {result}"


@settings(max_examples=200, deadline=None)
@given(window=windows(), moment=moments, tz=zones)
def test_a_moment_inside_the_window_is_kept(window, moment, tz):
    if window.contains(moment, tz):
        assert window.next_open(moment, tz) == moment


def test_a_step_due_at_night_goes_out_when_the_window_opens_in_tokyo():
    window = SendWindow(time(10), time(20))
    due = datetime(2026, 5, 11, 23, 30, tzinfo=TOKYO)  # Monday 23:30
    assert window.next_open(due, TOKYO) == datetime(2026, 5, 12, 10, 0, tzinfo=TOKYO)
    early = datetime(2026, 5, 12, 6, 0, tzinfo=TOKYO)
    assert window.next_open(early, TOKYO) == datetime(2026, 5, 12, 10, 0, tzinfo=TOKYO)


def test_weekdays_only_a_friday_evening_mail_waits_for_monday():
    window = SendWindow(time(9), time(18), frozenset({0, 1, 2, 3, 4}))
    friday_evening = datetime(2026, 5, 15, 19, 0, tzinfo=TOKYO)
    assert window.next_open(friday_evening, TOKYO) == datetime(2026, 5, 18, 9, 0, tzinfo=TOKYO)


def test_spring_forward_a_window_starting_in_the_missing_hour_opens_when_the_clocks_jump():
    window = SendWindow(time(2, 30), time(6))
    before = datetime(2026, 3, 8, 1, 0, tzinfo=NEW_YORK)  # the night US clocks go 2:00 → 3:00
    opens = window.next_open(before, NEW_YORK)
    assert opens.astimezone(UTC) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert opens.astimezone(NEW_YORK).hour == 3


def test_fall_back_the_repeated_hour_is_inside_the_window_twice():
    window = SendWindow(time(1), time(1, 30))
    # 01:45 the first time round (EDT): the window opens again when clocks return to 01:00 EST.
    first_pass = datetime(2026, 11, 1, 1, 45, tzinfo=NEW_YORK)
    opens = window.next_open(first_pass, NEW_YORK)
    assert opens.astimezone(UTC) == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def test_the_same_window_is_local_time_in_each_zone():
    window = SendWindow(time(10), time(20))
    due = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo, 23:00 the day before in New York
    assert window.next_open(due, TOKYO) == due
    assert window.next_open(due, NEW_YORK) == datetime(2026, 7, 1, 10, 0, tzinfo=NEW_YORK)


@st.composite
def enrollments(draw):
    sequence = SequencePage(
        window_start=draw(st.none() | st.just(time(9))),
        window_end=draw(st.none() | st.just(time(21))),
        window_weekdays=draw(st.sampled_from(["", "0,1,2,3,4", "5,6"])),
    )
    contact = Contact(email="x@example.jp", timezone=draw(st.sampled_from(["", "America/New_York", "Asia/Tokyo"])))
    enrollment = Enrollment(sequence=sequence, contact=contact, anchor_at=draw(moments))
    step = StepEmailPage(delay_value=draw(st.integers(0, 30)), delay_unit=draw(st.sampled_from(["hours", "days"])))
    return enrollment, step


@pytest.mark.django_db
@settings(max_examples=200, deadline=None)
@given(case=enrollments())
def test_due_time_is_the_first_open_moment_after_anchor_plus_delay(case):
    enrollment, step = case
    due = due_at_for(enrollment, step)
    raw = enrollment.anchor_at + step.delay
    window = SendWindow.for_sequence(enrollment.sequence)
    tz = zone_for(enrollment.contact)
    assert due >= raw
    assert window.contains(due, tz)
    assert first_open_by_brute_force(window, raw, tz, due) is None


@override_settings(TIME_ZONE="Asia/Tokyo", STEPMAIL={})
def test_contacts_without_a_zone_use_the_site_zone_and_bad_zones_fall_back():
    assert zone_for(Contact(timezone="")) == TOKYO
    assert zone_for(Contact(timezone="Mars/Olympus_Mons")) == TOKYO
    assert zone_for(Contact(timezone="America/New_York")) == NEW_YORK
    with override_settings(STEPMAIL={"TIME_ZONE": "America/New_York"}):
        assert zone_for(Contact(timezone="")) == NEW_YORK


def test_local_midnight_exists_every_day_in_both_zones():
    for tz in (NEW_YORK, TOKYO):
        day = date(2026, 1, 1)
        while day.year == 2026:
            instant = local_instant(day, time(0), tz)
            assert instant.astimezone(tz).date() == day
            day += timedelta(days=1)


# -- frequency caps -----------------------------------------------------------------------------
base = datetime(2026, 6, 1, tzinfo=UTC)
past_sends = st.lists(st.integers(min_value=0, max_value=10 * 24 * 3600), max_size=12).map(
    lambda seconds: [base - timedelta(seconds=s) for s in seconds]
)
caps = st.lists(
    st.tuples(st.integers(1, 4), st.integers(1, 24 * 8)), min_size=1, max_size=3
).map(parse_caps)


def allowed(sent, cap_list, moment):
    return all(sum(1 for s in sent if moment - period < s <= moment) < count for count, period in cap_list)


@settings(max_examples=300, deadline=None)
@given(sent=past_sends, cap_list=caps)
def test_the_cap_releases_at_the_first_moment_one_more_mail_fits(sent, cap_list):
    release = cap_release(sent, cap_list, base)
    assert release >= base
    assert allowed(sent, cap_list, release)
    if release > base:
        assert not allowed(sent, cap_list, release - timedelta(seconds=1))


def test_one_a_day_and_three_a_week():
    cap_list = parse_caps([(1, 24), (3, 168)])
    assert cap_release([], cap_list, base) == base
    yesterday_noon = base - timedelta(hours=12)
    assert cap_release([yesterday_noon], cap_list, base) == yesterday_noon + timedelta(hours=24)
    three_this_week = [base - timedelta(days=d) for d in (6, 4, 2)]
    assert cap_release(three_this_week, cap_list, base) == base - timedelta(days=6) + timedelta(days=7)


def test_bad_cap_settings_are_ignored_not_fatal():
    assert parse_caps([(1, 24), ("x", 2), (0, 5), (2,)]) == [(1, timedelta(hours=24))]


@pytest.mark.django_db
def test_refill_steps_count_back_from_when_the_supply_runs_out():
    anchor = datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO)
    enrollment = Enrollment(sequence=SequencePage(), contact=Contact(), anchor_at=anchor, supply_days=60)
    step = StepEmailPage(delay_value=7, delay_unit="days", delay_from="supply_end")
    assert raw_due_at(enrollment, step) == anchor + timedelta(days=53)
    enrollment.supply_days = 3  # a lead longer than the supply: right away, never before the anchor
    assert raw_due_at(enrollment, step) == anchor


@pytest.mark.django_db
@pytest.mark.parametrize("weekdays", ["", "0,1,2,3,4,5,6"])
def test_no_window_means_any_time(weekdays):
    window = SendWindow.for_sequence(SequencePage(window_weekdays=weekdays))
    assert window.always_open
