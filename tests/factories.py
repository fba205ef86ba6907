"""Builders for real Wagtail pages and real Oscar orders (Oscar's own OrderCreator)."""

from __future__ import annotations

from decimal import Decimal as D

from django.conf import settings
from django.test import TestCase
from oscar.apps.partner.strategy import Default
from oscar.test import factories as oscar_factories
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from stepmail_plugin.models import SequenceIndexPage, SequencePage, StepEmailPage


def wagtail_root() -> Page:
    """The tree root. A transactional test's flush removes what Wagtail's data migrations made
    (locale, root page, site): put it back."""
    Locale.objects.get_or_create(language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE))
    root = Page.objects.filter(depth=1).first()
    if root is None:
        root = Page.add_root(instance=Page(title="Root", slug="root"))
    if not Site.objects.exists():
        home = root.add_child(instance=Page(title="Home", slug="home"))
        Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)
    return root


def paragraph(html: str) -> tuple:
    return ("paragraph", html)


def make_sequence(
    title: str = "購入後フォロー",
    trigger: str = "order_placed",
    steps: list[dict] | None = None,
    *,
    kind: str = "marketing",
    publish: bool = True,
    parent: Page | None = None,
) -> SequencePage:
    """A published sequence with published steps; each step dict: delay (days), subject, body."""
    parent = parent or _index()
    sequence = SequencePage(title=title, trigger=trigger, kind=kind, live=publish)
    parent.add_child(instance=sequence)
    revision = sequence.save_revision()
    if publish:
        revision.publish()
    for spec in steps or []:
        add_step(sequence, **spec)
    return SequencePage.objects.get(pk=sequence.pk)


def add_step(
    sequence: SequencePage,
    subject: str = "ご購入ありがとうございます",
    delay: int = 0,
    unit: str = "days",
    body: list | None = None,
    preheader: str = "",
    publish: bool = True,
    title: str | None = None,
) -> StepEmailPage:
    step = StepEmailPage(
        title=title or subject,
        subject=subject,
        preheader=preheader,
        delay_value=delay,
        delay_unit=unit,
        body=body if body is not None else [paragraph("<p>{{ first_name|default:\"お客様\" }}様、こんにちは。</p>")],
        live=publish,
    )
    sequence.add_child(instance=step)
    revision = step.save_revision()
    if publish:
        revision.publish()
    return StepEmailPage.objects.get(pk=step.pk)


def _index() -> SequenceIndexPage:
    index = SequenceIndexPage.objects.first()
    if index is None:
        index = SequenceIndexPage(title="ステップメール", slug="stepmail")
        wagtail_root().add_child(instance=index)
        index.save_revision().publish()
    return index


def make_user(email: str = "hanako@example.jp", first_name: str = "花子", last_name: str = "山田", **kwargs):
    """A customer account (the plugin's registration trigger runs on commit, here too)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return oscar_factories.UserFactory(email=email, first_name=first_name, last_name=last_name, **kwargs)


def place_order(user=None, guest_email: str = "", price: D = D("4800"), **kwargs):
    """An order placed through Oscar's OrderCreator (which sends ``order_placed``).

    The plugin enrolls on commit; inside a test's transaction the commit callbacks are run here.
    """
    with TestCase.captureOnCommitCallbacks(execute=True):
        return _place_order(user, guest_email, price, **kwargs)


def run_follow_ups() -> int:
    """What the dispatcher's next tick does first: the work orders leave for later (the exits a
    purchase causes, attribution; see stepmail_plugin/followups.py)."""
    from stepmail_plugin.followups import run_pending

    return run_pending()


def _place_order(user, guest_email, price, **kwargs):
    basket = oscar_factories.BasketFactory()
    basket.strategy = Default()
    product = oscar_factories.create_product(title="リネンシャツ")
    oscar_factories.create_stockrecord(product, num_in_stock=10, price=price)
    basket.add_product(product)
    if guest_email:
        kwargs["guest_email"] = guest_email
    return oscar_factories.create_order(basket=basket, user=user, **kwargs)
