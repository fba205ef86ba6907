"""Step-mail sequences as Wagtail pages, created the way an editor would: added to the tree, then
a revision saved and published (so the admin shows real history and the dispatcher sends the
live revision).

A sequence that already exists is left exactly as it is, steps included: once loaded, the copy
belongs to whoever edits it in the CMS.
"""

from __future__ import annotations

from django.db import transaction
from wagtail.models import Page, Site

from stepmail_plugin.blocks import StepBodyBlock
from stepmail_plugin.models import SequenceIndexPage, SequencePage, StepEmailPage

from .scenarios import SequenceSpec, ShopLinks

INDEX_SLUG = "step-mail"
INDEX_TITLE = "ステップメール"
INDEX_INTRO = "お客様の行動(購入・会員登録など)を起点に、決められた順番とタイミングで自動配信するメールです。"


def home_page() -> Page:
    """The root page of the default Wagtail site (Wagtail's "Welcome" page after migrate)."""
    site = Site.objects.select_related("root_page").get(is_default_site=True)
    return site.root_page.specific


def publish_child(parent: Page, page: Page, owner=None) -> Page:
    """Add ``page`` under ``parent`` as a draft, then save and publish a revision of it."""
    page.live = False
    page.owner = owner
    parent.add_child(instance=page)
    page.save_revision(user=owner, log_action=True).publish(user=owner)
    page.refresh_from_db()
    return page


def ensure_index(owner=None, log=print) -> SequenceIndexPage:
    home = home_page()
    index = SequenceIndexPage.objects.child_of(home).filter(slug=INDEX_SLUG).first()
    if index is not None:
        log(f"  exists  folder: {index.title}")
        return index
    index = SequenceIndexPage(title=INDEX_TITLE, slug=INDEX_SLUG, intro=INDEX_INTRO)
    index = publish_child(home, index, owner)
    log(f"  created folder: {index.title}")
    return index


@transaction.atomic
def ensure_sequence(index: SequenceIndexPage, spec: SequenceSpec, links: ShopLinks, owner=None,
                    log=print) -> SequencePage:
    """The sequence of ``spec`` under ``index`` with its steps, created and published if
    missing."""
    sequence = SequencePage.objects.child_of(index).filter(slug=spec.slug).first()
    if sequence is not None:
        steps = sequence.get_steps().count()
        log(f"  exists  sequence: {sequence.title} ({steps} steps, left as is)")
        return sequence
    sequence = publish_child(
        index,
        SequencePage(
            title=spec.title, slug=spec.slug, trigger=spec.trigger, kind=spec.kind,
            description=spec.description,
        ),
        owner,
    )
    log(f"  created sequence: {sequence.title} (trigger {spec.trigger})")
    body_block = StepBodyBlock()
    for step_spec in spec.steps:
        step = StepEmailPage(
            title=step_spec.title,
            slug=step_spec.slug,
            delay_value=step_spec.delay_days,
            delay_unit="days",
            subject=step_spec.subject,
            preheader=step_spec.preheader,
            body=step_spec.body(links),
        )
        # The checks the page editor runs on the body (merge fields, button links), so demo copy
        # can never be something an editor could not have saved.
        body_block.clean(step.body)
        publish_child(sequence, step, owner)
        log(f"    + step after {step_spec.delay_days} days: {step.subject}")
    return sequence
