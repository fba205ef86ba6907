"""A/B test results and the winner rule.

Rule: every arm (the original and each variant with weight > 0) needs ``AB_MIN_SAMPLE`` sent
mails; then the arm whose posterior probability to be best (Beta(1, 1) priors on the chosen
rate) reaches ``AB_CONFIDENCE`` wins. The two-proportion z-test p-value and Newcombe's interval
of each variant's difference to the original are shown beside it for readers used to them.
Only mails sent since the test started (the first variant send) and before a promoted decision
count, so earlier sends of the original do not tilt the comparison.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import stepmail_settings
from ..models import ABDecision, ABMetric, Delivery, DeliveryStatus, StepEmailPage, StepVariant
from . import stats
from .metrics import Counts, count_deliveries

logger = logging.getLogger(__name__)

COLLECTING, UNDECIDED, WINNER, PROMOTED = "collecting", "undecided", "winner", "promoted"


@dataclass
class Arm:
    label: str
    variant: StepVariant | None
    weight: int
    counts: Counts
    successes: int = 0
    rate: float | None = None
    interval: tuple[float, float] = (0.0, 1.0)
    probability_best: float = 0.0
    # Compared with the original (None for the original itself).
    difference: tuple[float, float] | None = None
    p_value: float | None = None

    @property
    def n(self) -> int:
        return self.counts.sent

    @property
    def key(self) -> str:
        return "original" if self.variant is None else str(self.variant.pk)


@dataclass
class ABResult:
    step: Any
    metric: str
    arms: list[Arm]
    status: str
    message: str
    min_sample: int
    confidence: float
    started_at: datetime | None = None
    winner: Arm | None = None
    decision: ABDecision | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def metric_label(self) -> str:
        return str(ABMetric(self.metric).label)

    def numbers(self) -> dict[str, Any]:
        """A JSON summary, stored with a decision."""
        return {
            "metric": self.metric,
            "min_sample": self.min_sample,
            "confidence": self.confidence,
            "arms": [
                {"label": a.label, "variant": a.variant.pk if a.variant else None, "sent": a.n,
                 "successes": a.successes, "rate": a.rate, "probability_best": a.probability_best,
                 "p_value": a.p_value}
                for a in self.arms
            ],
        }


def evaluate(step: StepEmailPage, variants: list[StepVariant] | None = None) -> ABResult | None:
    """The current result of ``step``'s A/B test, or None if it has no variants."""
    if variants is None:
        variants = list(StepVariant.objects.filter(step=step).order_by("sort_order", "pk"))
    decision = ABDecision.objects.filter(step=step).select_related("winner").first()
    metric = step.ab_metric or ABMetric.CLICKED
    min_sample = int(stepmail_settings.AB_MIN_SAMPLE)
    confidence = float(stepmail_settings.AB_CONFIDENCE)
    if not variants and decision is None:
        return None
    sent = Delivery.objects.filter(step=step, status=DeliveryStatus.SENT)
    started_at = sent.filter(variant__isnull=False).order_by("sent_at").values_list("sent_at", flat=True).first()
    if started_at is not None:
        sent = sent.filter(sent_at__gte=started_at)
    if decision is not None and decision.promoted:
        sent = sent.filter(sent_at__lt=decision.decided_at)
    by_variant = count_deliveries(sent, ["variant_id"])
    arms = [Arm(_("A (original)"), None, int(step.ab_original_weight or 0), by_variant.get((None,), Counts()))]
    for variant in variants:
        arms.append(Arm(variant.name, variant, int(variant.weight or 0), by_variant.get((variant.pk,), Counts())))
    for arm in arms:
        arm.successes = arm.counts.successes(metric)
        arm.rate = arm.successes / arm.n if arm.n else None
        arm.interval = stats.wilson_interval(arm.successes, arm.n, confidence)
    active = [a for a in arms if a.weight > 0 or a.n > 0]
    for arm, p in zip(active, stats.probability_to_be_best([(a.successes, a.n) for a in active])):
        arm.probability_best = p
    original = arms[0]
    for arm in arms[1:]:
        arm.difference = stats.difference_interval(arm.successes, arm.n, original.successes, original.n, confidence)
        arm.p_value = stats.two_proportion_test(arm.successes, arm.n, original.successes, original.n)[1]

    result = ABResult(step, metric, arms, COLLECTING, "", min_sample, confidence, started_at, decision=decision)
    if decision is not None and decision.promoted:
        result.status = PROMOTED
        result.winner = next((a for a in arms if (a.variant.pk if a.variant else None) == decision.winner_id), None)
        result.message = _("“%(winner)s” was promoted on %(date)s with a %(p).1f%% probability to be best; "
                           "everyone gets it now.") % {
            "winner": decision.winner_label, "date": timezone.localtime(decision.decided_at).date(),
            "p": decision.probability * 100}
        return result
    short = [a for a in active if a.n < min_sample]
    if short:
        result.message = _("Collecting data: every version needs %(n)d sent mails (%(missing)s).") % {
            "n": min_sample,
            "missing": ", ".join(_("%(label)s %(sent)d") % {"label": a.label, "sent": a.n} for a in short),
        }
        return result
    best = max(active, key=lambda a: a.probability_best)
    if best.probability_best >= confidence:
        result.status = WINNER
        result.winner = best
        result.message = _("“%(label)s” wins: %(rate).1f%% %(metric)s with a %(p).1f%% probability to be best "
                           "(threshold %(t).0f%%).") % {
            "label": best.label, "rate": (best.rate or 0) * 100, "metric": result.metric_label.lower(),
            "p": best.probability_best * 100, "t": confidence * 100}
    else:
        result.status = UNDECIDED
        result.message = _("No winner yet: “%(label)s” leads with a %(p).1f%% probability to be best; "
                           "%(t).0f%% is needed. Keep the test running.") % {
            "label": best.label, "p": best.probability_best * 100, "t": confidence * 100}
    return result


def promote(result: ABResult, *, user: Any = None, automatic: bool = False) -> ABDecision:
    """Send the winner of ``result`` to everyone from now on (records the decision)."""
    if result.winner is None:
        raise ValueError("There is no winner to promote.")
    winner = result.winner
    with transaction.atomic():
        decision, _created = ABDecision.objects.update_or_create(
            step=result.step,
            defaults={
                "winner": winner.variant,
                "winner_label": winner.label[:80],
                "metric": result.metric,
                "probability": winner.probability_best,
                "numbers": result.numbers(),
                "decided_at": timezone.now(),
                "promoted": True,
                "automatic": automatic,
                "decided_by": user if getattr(user, "pk", None) else None,
            },
        )
    logger.info("stepmail: A/B test of step %s: promoted %r", result.step.pk, winner.label)
    return decision


def restart(step: StepEmailPage) -> None:
    """Forget the decision: the variants are tested again from the next send."""
    ABDecision.objects.filter(step=step).delete()


def evaluate_all(*, auto_promote: bool = True) -> list[ABResult]:
    """Evaluate every running test; promote winners of steps that ask for it."""
    step_ids = set(StepVariant.objects.values_list("step_id", flat=True)) - set(
        ABDecision.objects.filter(promoted=True).values_list("step_id", flat=True)
    )
    results = []
    for step in StepEmailPage.objects.filter(pk__in=step_ids):
        result = evaluate(step)
        if result is None:
            continue
        results.append(result)
        if auto_promote and result.status == WINNER and step.ab_auto_promote:
            result.decision = promote(result, automatic=True)
            result.status = PROMOTED
    return results
