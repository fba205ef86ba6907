"""Fields that the A/B test and the holdout add to the step and sequence pages (as abstract mixins,
so the page modules only name them)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class ABMetric(models.TextChoices):
    OPENED = "opened", _("Open rate")
    CLICKED = "clicked", _("Click rate")
    CONVERTED = "converted", _("Conversion rate")


class ABTestStepMixin(models.Model):
    """A/B test settings of a step email (its own content is variant A, the original)."""

    ab_original_weight = models.PositiveSmallIntegerField(
        _("weight of the original"),
        default=1,
        validators=[MaxValueValidator(1000)],
        help_text=_(
            "Relative share of recipients who get this page's own content (variant A) while variants "
            "below are tested. With one variant of weight 1, half get each."
        ),
    )
    ab_metric = models.CharField(
        _("winner decided by"),
        max_length=16,
        choices=ABMetric.choices,
        default=ABMetric.CLICKED,
        help_text=_("Opens are unreliable since mail apps pre-load images; clicks are the safer default."),
    )
    ab_auto_promote = models.BooleanField(
        _("promote the winner automatically"),
        default=False,
        help_text=_(
            "Once a variant is the best with the required certainty, send it to everyone. "
            "Otherwise the result is shown in the report and you promote it yourself."
        ),
    )

    class Meta:
        abstract = True


class HoldoutSequenceMixin(models.Model):
    """Holdout setting of a sequence: a share of enrollments receives nothing, for comparison."""

    holdout_percent = models.PositiveSmallIntegerField(
        _("holdout group (%)"),
        default=0,
        validators=[MaxValueValidator(50)],
        help_text=_(
            "This share of the people entering the sequence receives none of its mails. Comparing "
            "their purchases with everyone else's shows what the sequence really earns (uplift). "
            "0 turns it off; 5–10 is usual."
        ),
    )

    class Meta:
        abstract = True
