"""A sequence at a glance, step by step: when each step goes out, what it says, whether it is
live, how many people wait for it and what became of what was sent.

Shown in the sequence's page editor (``panels.SequenceTimelinePanel``). A fixed number of queries
whatever the number of steps: the steps, their drafts, A/B variants, the delivery counts (three,
see ``tracking.metrics.count_deliveries``) and the enrollments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count
from wagtail.models import Revision

from ..models import (
    Delivery,
    Enrollment,
    EnrollmentStatus,
    SequencePage,
    StepEmailPage,
    StepVariant,
)
from ..models.pages import delay_label
from ..tracking.metrics import Counts, count_deliveries


@dataclass
class TimelineStep:
    """One step of the timeline."""

    position: int
    step: StepEmailPage
    title: str
    subject: str
    when: str
    live: bool
    #: Published, with changes saved since that are not published yet.
    has_draft_changes: bool
    variants: int
    counts: Counts = field(default_factory=Counts)

    @property
    def waiting(self) -> int:
        """People whose next mail is this one (scheduled, or being sent right now)."""
        return self.counts.pending

    @property
    def failed(self) -> int:
        """Failed, and uncertain (the worker stopped while sending): both need a look."""
        return self.counts.failed + self.counts.uncertain


@dataclass
class Timeline:
    steps: list[TimelineStep]
    #: Enrollments of the sequence by status (``active``, ``paused``, ``completed``…).
    enrollments: dict[str, int]

    @property
    def in_progress(self) -> int:
        return self.enrollments.get(EnrollmentStatus.ACTIVE, 0) + self.enrollments.get(EnrollmentStatus.PAUSED, 0)

    @property
    def finished(self) -> int:
        return sum(n for status, n in self.enrollments.items()
                   if status not in (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED))


def sequence_timeline(sequence: SequencePage) -> Timeline:
    """The timeline of ``sequence``: its steps in tree order (drafts included) with their numbers."""
    steps = list(
        StepEmailPage.objects.child_of(sequence).order_by("path").only(
            "id", "path", "depth", "title", "draft_title", "live", "has_unpublished_changes",
            "latest_revision_id", "subject", "delay_value", "delay_unit", "delay_from",
        )
    )
    if not steps:
        return Timeline([], _enrollment_counts(sequence))
    # A step never published shows what its editor last saved; a live one what goes out.
    drafts = {
        revision.pk: revision.content
        for revision in Revision.objects.filter(
            pk__in=[s.latest_revision_id for s in steps if not s.live and s.latest_revision_id]
        ).only("pk", "content")
    }
    variants = dict(
        StepVariant.objects.filter(step__in=steps)
        .values_list("step_id").annotate(n=Count("pk")).order_by()
    )
    counts = count_deliveries(Delivery.objects.filter(step__in=steps), ["step_id"])
    entries = []
    for position, step in enumerate(steps, start=1):
        values = drafts.get(step.latest_revision_id, {}) if not step.live else {}
        entries.append(
            TimelineStep(
                position=position,
                step=step,
                title=values.get("title") or step.draft_title or step.title,
                subject=values.get("subject", step.subject),
                when=delay_label(
                    values.get("delay_value", step.delay_value),
                    values.get("delay_unit", step.delay_unit),
                    values.get("delay_from", step.delay_from),
                ),
                live=step.live,
                has_draft_changes=step.live and step.has_unpublished_changes,
                variants=variants.get(step.pk, 0),
                counts=counts.get((step.pk,), Counts()),
            )
        )
    return Timeline(entries, _enrollment_counts(sequence))


def _enrollment_counts(sequence: SequencePage) -> dict[str, int]:
    return dict(
        Enrollment.objects.filter(sequence_id=sequence.pk, holdout=False)
        .values_list("status").annotate(n=Count("pk")).order_by()
    )

