"""What the dispatcher asks the tracking module for, loaded once per batch: A/B variants and
decisions, link lists, and the per-mail tracking values (one signed token per mail)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone

from ..conf import stepmail_settings
from ..models import ABDecision, Delivery, StepVariant, TrackedLinkSet
from ..scheduling import due_at_for
from ..tokens import TRACK, make_token
from .links import OPEN_FIELD, TRACK_FIELD, LinkRewriter, clicks_tracked, opens_tracked, utm_hosts
from .variants import VariantContent, choose_variant


class BatchTracking:
    """Per-batch tracking state for :class:`~stepmail_plugin.dispatch.BatchSender`.

    Two queries per batch at most (variants, and decisions only when a step has variants), one
    ``get_or_create`` per compiled step with links; nothing per mail but one signature.
    """

    def __init__(self, steps: dict[int, Any], base_url: str, known: dict[str, Any] | None = None):
        """``known``: a dict kept by the caller between batches (the dispatcher keeps one per tick),
        so the variants of a step are loaded once."""
        self.base_url = base_url
        known = {} if known is None else known
        self.variants: dict[int, list[StepVariant]] = known.setdefault("variants", defaultdict(list))
        self.promoted: dict[int, StepVariant | None] = known.setdefault("promoted", {})
        loaded: set[int] = known.setdefault("loaded", set())
        new = [pk for pk in steps if pk not in loaded]
        if new:
            loaded.update(new)
            with_variants = set()
            for variant in StepVariant.objects.filter(step_id__in=new):
                self.variants[variant.step_id].append(variant)
                with_variants.add(variant.step_id)
            if with_variants:
                for decision in ABDecision.objects.filter(step_id__in=with_variants, promoted=True):
                    self.promoted[decision.step_id] = next(
                        (v for v in self.variants[decision.step_id] if v.pk == decision.winner_id), None
                    )
        self.track_clicks = clicks_tracked()
        self.track_opens = opens_tracked()
        self.utm = dict(stepmail_settings.UTM_PARAMS or {})
        self.hosts = utm_hosts(base_url)
        if self.track_clicks or self.track_opens:
            click = reverse("stepmail:click", kwargs={"token": "TOKEN", "index": 0})
            opened = reverse("stepmail:open", kwargs={"token": "TOKEN"})
            self.click_prefix = base_url + click[: click.index("TOKEN")]
            self.open_prefix = base_url + opened[: opened.index("TOKEN")]
            self.open_suffix = opened[opened.index("TOKEN") + len("TOKEN"):]

    # -- A/B ---------------------------------------------------------------------------------
    def variant_for(self, delivery: Delivery, step: Any) -> StepVariant | None:
        """The variant this delivery gets (None: the original)."""
        variants = self.variants.get(step.pk)
        if not variants:
            return None
        if step.pk in self.promoted:
            return self.promoted[step.pk]
        return choose_variant(delivery.enrollment_id, step, variants)

    def content(self, step: Any, variant: StepVariant | None) -> Any:
        return step if variant is None else VariantContent(step, variant)

    def send_later(self, delivery: Delivery, step: Any, variant: StepVariant | None) -> datetime | None:
        """For a timing variant: when this delivery is due instead (None: send now)."""
        if variant is None or not variant.extra_delay_value:
            return None
        due = due_at_for(delivery.enrollment, step) + variant.extra_delay
        return due if timezone.now() < due else None

    # -- links -------------------------------------------------------------------------------
    def links_for(self, step: Any, variant: StepVariant | None, sequence: Any) -> LinkRewriter | None:
        """The link rewriter for compiling this step (None: links stay as written)."""
        if not (self.utm or self.track_clicks or self.track_opens):
            return None
        names = {
            "sequence": getattr(sequence, "slug", "") or "",
            "step": getattr(step, "slug", "") or str(step.pk),
            "variant": f"-v{variant.pk}" if variant is not None else "",
        }
        utm = {k: str(v).format(**names) for k, v in self.utm.items()}
        return LinkRewriter(utm=utm, hosts=self.hosts, track_clicks=self.track_clicks,
                            track_opens=self.track_opens)

    def save_links(self, step: Any, rewriter: LinkRewriter | None) -> int | None:
        """Store the compiled step's link list once; its id goes into each mail's token."""
        if rewriter is None or not rewriter.urls:
            return None
        digest = hashlib.sha256(json.dumps([step.pk, rewriter.urls]).encode()).hexdigest()
        link_set, _ = TrackedLinkSet.objects.get_or_create(
            digest=digest, defaults={"step_id": step.pk, "urls": rewriter.urls}
        )
        return link_set.pk

    def recipient_values(self, delivery: Delivery, link_set_id: int | None) -> dict[str, str]:
        """The per-mail tracking merge values: one signed token for all links and the pixel."""
        if not (link_set_id or self.track_opens):
            return {}
        payload: dict[str, int] = {"d": delivery.pk}
        if link_set_id:
            payload["l"] = link_set_id
        token = make_token(TRACK, payload)
        values = {}
        if link_set_id:
            values[TRACK_FIELD] = f"{self.click_prefix}{token}/"
        if self.track_opens:
            values[OPEN_FIELD] = f"{self.open_prefix}{token}{self.open_suffix}"
        return values
