"""Due-time arithmetic: when a step of an enrollment goes out."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .models import Enrollment, StepEmailPage


def due_at_for(enrollment: Enrollment, step: StepEmailPage) -> datetime:
    """The moment ``step`` is due for ``enrollment``: the anchor plus the step's delay.

    Delays count from the trigger (「購入3日後」), not from the previous mail, so a late mail does
    not push the rest of the sequence back.
    """
    return enrollment.anchor_at + step.delay
