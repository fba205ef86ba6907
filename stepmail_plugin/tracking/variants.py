"""A/B variants: which version of a step an enrollment gets, deterministically."""

from __future__ import annotations

import hashlib
from typing import Any

from ..models import StepVariant


def bucket(*parts: Any, size: int) -> int:
    """A stable pseudo-random number in ``[0, size)`` for ``parts`` (same input, same bucket, on
    every machine and Python version, unlike ``hash()``)."""
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % size


def arms(step: Any, variants: list[StepVariant]) -> list[tuple[StepVariant | None, int]]:
    """The original (None) and the variants with their weights, in a fixed order."""
    return [(None, int(getattr(step, "ab_original_weight", 1) or 0))] + [
        (v, int(v.weight or 0)) for v in sorted(variants, key=lambda v: (v.sort_order or 0, v.pk))
    ]


def choose_variant(enrollment_id: int, step: Any, variants: list[StepVariant]) -> StepVariant | None:
    """The variant for this enrollment at this step (None: the original), by weight.

    The same enrollment always lands in the same arm while the weights stay the same.
    """
    if not variants:
        return None
    weighted = arms(step, variants)
    total = sum(w for _, w in weighted)
    if total <= 0:
        return None
    point = bucket("ab", enrollment_id, step.pk, size=total)
    for variant, weight in weighted:
        if point < weight:
            return variant
        point -= weight
    return None  # pragma: no cover - unreachable: point < total


class VariantContent:
    """A step as a variant would have it: the variant's subject, preheader and body where set."""

    def __init__(self, step: Any, variant: StepVariant):
        self.pk = step.pk
        self.step = step
        self.variant = variant
        self.subject = variant.subject or step.subject
        self.preheader = variant.preheader or step.preheader
        self.body = variant.body if len(variant.body) else step.body
