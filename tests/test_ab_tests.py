"""A/B tests: deterministic weighted assignment, per-variant content and timing, the winner rule
and promotion."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import (
    ABDecision,
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    StepEmailPage,
    StepVariant,
)
from stepmail_plugin.tracking import abtest
from stepmail_plugin.tracking.variants import choose_variant

from .factories import make_sequence, paragraph, place_order

# These tests read English labels; the shop itself stays Japanese.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def step_with_variant(settings, *, weight=1, auto_promote=False, **variant_fields):
    sequence = make_sequence(steps=[{"subject": "元の件名", "delay": 0}])
    step = StepEmailPage.objects.get()
    StepEmailPage.objects.filter(pk=step.pk).update(ab_auto_promote=auto_promote)
    variant = StepVariant.objects.create(step=step, name="B", weight=weight, **variant_fields)
    return sequence, StepEmailPage.objects.get(pk=step.pk), variant


def test_assignment_is_deterministic_and_follows_the_weights(settings):
    _sequence, step, variant = step_with_variant(settings, subject="B の件名",
                                                 body=[paragraph("<p>B の本文</p>")])
    for i in range(40):
        place_order(guest_email=f"ab{i}@example.jp")
    dispatch_due()
    deliveries = list(Delivery.objects.select_related("enrollment"))
    in_b = [d for d in deliveries if d.variant_id == variant.pk]
    assert 10 <= len(in_b) <= 30
    for delivery in deliveries:
        assert (choose_variant(delivery.enrollment_id, step, [variant]) is not None) == (delivery.variant_id is not None)
    subjects = {m.to[0]: (m.subject, m.alternatives[0][0]) for m in mail.outbox}
    for delivery in deliveries:
        subject, html = subjects[delivery.to_email]
        if delivery.variant_id:
            assert subject == "B の件名" and "B の本文" in html
        else:
            assert subject == "元の件名" and "B の本文" not in html


def test_weights_can_pause_a_variant():
    step = type("Step", (), {"pk": 5, "ab_original_weight": 0})()
    b, c = StepVariant(pk=1, name="B", weight=3, sort_order=0), StepVariant(pk=2, name="C", weight=0, sort_order=1)
    chosen = [choose_variant(e, step, [b, c]) for e in range(100)]
    assert set(chosen) == {b}


def test_a_timing_variant_goes_out_later(settings):
    _sequence, _step, variant = step_with_variant(settings, weight=1000, extra_delay_value=2, extra_delay_unit="hours")
    start = timezone.now()
    place_order(guest_email="later@example.jp")
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        dispatch_due()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SCHEDULED and not mail.outbox
    assert timedelta(hours=1, minutes=59) < delivery.due_at - start <= timedelta(hours=2, minutes=1)
    with time_machine.travel(start + timedelta(hours=2, minutes=2), tick=False):
        dispatch_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.variant_id, delivery.attempts) == (DeliveryStatus.SENT, variant.pk, 1)
    assert len(mail.outbox) == 1


def fake_results(step, variant, arms):
    """Sent deliveries with known clicks: arms = {None or variant: (sent, clicked)}."""
    now = timezone.now()
    sequence_id = step.get_parent().pk
    n = 0
    for arm, (sent, clicked) in arms.items():
        contacts = Contact.objects.bulk_create([Contact(email=f"r{n + i}@example.jp") for i in range(sent)])
        enrollments = Enrollment.objects.bulk_create([
            Enrollment(sequence_id=sequence_id, contact=c, trigger="custom", anchor_at=now) for c in contacts])
        Delivery.objects.bulk_create([
            Delivery(enrollment=e, step=step, step_path=step.path, status=DeliveryStatus.SENT, due_at=now,
                     sent_at=now, variant=arm, clicked_at=now if i < clicked else None,
                     opened_at=now if i < clicked else None)
            for i, e in enumerate(enrollments)])
        n += sent


def test_no_winner_before_the_minimum_sample(settings):
    _sequence, step, variant = step_with_variant(settings)
    fake_results(step, variant, {None: (99, 2), variant: (120, 30)})
    result = abtest.evaluate(step)
    assert result.status == abtest.COLLECTING
    assert "A (original) 99" in result.message


def test_a_clear_winner_is_declared_with_its_numbers(settings):
    _sequence, step, variant = step_with_variant(settings)
    fake_results(step, variant, {None: (120, 6), variant: (120, 20)})
    result = abtest.evaluate(step)
    original, b = result.arms
    assert (original.n, original.successes, b.n, b.successes) == (120, 6, 120, 20)
    assert (original.rate, b.rate) == (0.05, pytest.approx(1 / 6))
    assert b.probability_best == pytest.approx(0.99821, abs=1e-4)
    # pooled p = 26/240; se = sqrt(0.10833 × 0.89167 × 2/120) = 0.040124; z = 0.11667 / se = 2.9077
    assert b.p_value == pytest.approx(0.00364, abs=1e-5)
    assert result.status == abtest.WINNER and result.winner is b
    assert "“B” wins: 16.7% click rate" in result.message


def test_a_close_race_has_no_winner(settings):
    _sequence, step, variant = step_with_variant(settings)
    fake_results(step, variant, {None: (150, 12), variant: (140, 15)})
    result = abtest.evaluate(step)
    assert result.status == abtest.UNDECIDED
    assert 0.5 < result.arms[1].probability_best < 0.95


def test_automatic_promotion_sends_the_winner_to_everyone(settings):
    _sequence, step, variant = step_with_variant(settings, auto_promote=True, subject="勝った件名")
    fake_results(step, variant, {None: (120, 6), variant: (120, 20)})
    results = abtest.evaluate_all()
    assert [r.status for r in results] == [abtest.PROMOTED]
    decision = ABDecision.objects.get()
    assert (decision.winner_id, decision.automatic, decision.promoted) == (variant.pk, True, True)
    assert decision.numbers["arms"][1]["successes"] == 20
    for i in range(6):
        place_order(guest_email=f"after{i}@example.jp")
    dispatch_due()
    assert {m.subject for m in mail.outbox} == {"勝った件名"}
    # The frozen test result still shows the numbers it was decided on.
    assert abtest.evaluate(step).arms[1].n == 120


def test_without_automatic_promotion_the_winner_waits_for_the_editor(settings):
    _sequence, step, variant = step_with_variant(settings, auto_promote=False)
    fake_results(step, variant, {None: (120, 6), variant: (120, 20)})
    assert [r.status for r in abtest.evaluate_all()] == [abtest.WINNER]
    assert not ABDecision.objects.exists()
