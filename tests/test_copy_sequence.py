"""Copying a sequence in the Wagtail admin: all its steps as drafts, with its rules and A/B variants,
none of its customers or statistics; enrolls nobody until published; title and folder chosen by
the editor, within their permissions."""

import re

import pytest
from django.urls import reverse
from wagtail.actions.copy_page import CopyPagePermissionError

from stepmail_plugin.editor.copying import copy_sequence
from stepmail_plugin.models import (
    ABDecision,
    Delivery,
    Enrollment,
    SequenceIndexPage,
    SequencePage,
    StepEmailPage,
    StepVariant,
)

from .builders import make_product, order_of, with_rules
from .editor import editor, superuser
from .factories import _index, make_sequence, wagtail_root

pytestmark = pytest.mark.django_db

STEPS = [
    {"subject": "ご購入ありがとうございます", "delay": 0},
    {"subject": "商品は届きましたか？", "delay": 3},
    {"subject": "おすすめのコーディネート", "delay": 7},
]


def copy_url(sequence):
    return reverse("stepmail_editor:copy_sequence", args=[sequence.pk])


def folder(title, slug):
    page = SequenceIndexPage(title=title, slug=slug)
    wagtail_root().add_child(instance=page)
    return page


@pytest.fixture
def original():
    """A running sequence: rules, an A/B test with a decision, and a customer in it."""
    shirt = make_product()
    sequence = make_sequence("購入後フォロー", steps=STEPS)
    sequence = with_rules(sequence, filter_products=[shirt], exit_on_purchase=True, holdout_percent=5)
    step = StepEmailPage.objects.child_of(sequence).order_by("path")[1]
    step.variants.add(StepVariant(name="B: 短い件名", subject="届きました？", weight=1))
    step.ab_metric = "opened"
    step.save_revision().publish()
    ABDecision.objects.create(step=step, winner_label="A", metric="opened", probability=0.97)
    order_of(shirt, guest_email="hanako@example.jp")
    assert Enrollment.objects.filter(sequence=sequence).count() == 1
    return {"sequence": SequencePage.objects.get(pk=sequence.pk), "shirt": shirt}


def test_a_copy_has_every_step_as_a_draft_with_rules_and_variants_but_no_customers(client, original):
    sequence = original["sequence"]
    client.force_login(superuser())
    page = client.get(copy_url(sequence))
    assert page.status_code == 200
    assert 'value="購入後フォロー（コピー）"' in page.content.decode()  # the proposed title
    for step in STEPS:
        assert step["subject"] in page.content.decode()

    response = client.post(copy_url(sequence), {"title": "購入後フォロー（コピー）", "slug": "",
                                                 "parent": _index().pk})

    copy = SequencePage.objects.exclude(pk=sequence.pk).get()
    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_explore", args=[copy.pk])
    assert (copy.title, copy.live, copy.get_parent().pk) == ("購入後フォロー（コピー）", False, _index().pk)
    assert copy.slug and copy.slug != sequence.slug
    assert copy.get_latest_revision_as_object().title == "購入後フォロー（コピー）"
    # Copied again: a title the folder does not have yet is proposed.
    assert 'value="購入後フォロー（コピー 2）"' in client.get(copy_url(sequence)).content.decode()
    steps = list(copy.get_steps())
    assert [(s.subject, s.delay_value, s.live) for s in steps] == [
        (s["subject"], s["delay"], False) for s in STEPS
    ]
    # Rules and the A/B test come along…
    assert (copy.trigger, copy.exit_on_purchase, copy.holdout_percent) == ("order_placed", True, 5)
    assert list(copy.filter_products.all()) == [original["shirt"]]
    assert steps[1].ab_metric == "opened"
    assert [(v.name, v.subject) for v in steps[1].variants.all()] == [("B: 短い件名", "届きました？")]
    assert [v["name"] for v in steps[1].get_latest_revision().content["variants"]] == ["B: 短い件名"]
    # …customers, sent mail and results stay with the original.
    assert not Enrollment.objects.filter(sequence=copy).exists()
    assert not Delivery.objects.filter(step__in=steps).exists()
    assert not ABDecision.objects.filter(step__in=steps).exists()
    sequence.refresh_from_db()
    assert sequence.live and all(s.live for s in sequence.get_steps())
    assert Enrollment.objects.filter(sequence=sequence).count() == 1


def test_the_copy_enrolls_nobody_until_it_is_published(client, original):
    sequence, shirt = original["sequence"], original["shirt"]
    copy = copy_sequence(sequence, _index(), title="夏のフォロー", user=superuser())
    order_of(shirt, guest_email="taro@example.jp")
    assert list(Enrollment.objects.filter(contact__email="taro@example.jp").values_list("sequence_id", flat=True)) \
        == [sequence.pk]

    copy.get_latest_revision().publish()
    for step in copy.get_steps():
        step.get_latest_revision().publish()
    order_of(shirt, guest_email="jiro@example.jp")
    assert set(Enrollment.objects.filter(contact__email="jiro@example.jp").values_list("sequence_id", flat=True)) \
        == {sequence.pk, copy.pk}


def test_the_editor_chooses_title_slug_and_folder(client, original):
    sequence = original["sequence"]
    summer = folder("夏のキャンペーン", "summer")
    client.force_login(superuser())
    client.post(copy_url(sequence), {"title": "夏のフォロー", "slug": "summer-follow", "parent": summer.pk})
    copy = SequencePage.objects.get(slug="summer-follow")
    assert (copy.title, copy.get_parent().pk, copy.get_steps().count()) == ("夏のフォロー", summer.pk, 3)

    taken = client.post(copy_url(sequence), {"title": "もう一度", "slug": "summer-follow", "parent": summer.pk})
    assert taken.status_code == 200 and "summer-follow" in taken.content.decode()
    assert SequencePage.objects.filter(title="もう一度").count() == 0


def test_permissions_edit_the_sequence_and_add_in_the_destination(client, original):
    sequence = original["sequence"]
    other = folder("別のフォルダ", "other")
    client.force_login(editor(_index()))
    page = client.get(copy_url(sequence)).content.decode()
    assert f'value="{_index().pk}"' in page and f'value="{other.pk}"' not in page  # only their folder
    refused = client.post(copy_url(sequence), {"title": "よそへ", "slug": "", "parent": other.pk})
    assert refused.status_code == 200  # the form again: not a choice for them
    assert not SequencePage.objects.filter(title="よそへ").exists()

    outsider = editor(other, "outsider@shop.example.jp", username="outsider")
    client.force_login(outsider)
    for response in (client.get(copy_url(sequence)),
                     client.post(copy_url(sequence), {"title": "x", "slug": "", "parent": other.pk})):
        assert response.status_code == 403 or (response.status_code == 302
                                                and response.url == reverse("wagtailadmin_home"))
    assert SequencePage.objects.count() == 1
    with pytest.raises(CopyPagePermissionError):
        copy_sequence(sequence, other, title="x", user=editor(_index(), "e2@shop.example.jp", username="e2"))


def test_the_copy_action_is_offered_on_the_sequence_and_wagtails_copy_leads_to_it(client, original):
    sequence = original["sequence"]
    client.force_login(superuser())
    edit = client.get(reverse("wagtailadmin_pages:edit", args=[sequence.pk])).content.decode()
    assert copy_url(sequence) in edit
    listing = client.get(reverse("wagtailadmin_explore", args=[_index().pk])).content.decode()
    assert copy_url(sequence) in listing
    generic = client.get(reverse("wagtailadmin_pages:copy", args=[sequence.pk]))
    assert (generic.status_code, generic.url) == (302, copy_url(sequence))
    step = sequence.get_steps().first()
    assert client.get(reverse("wagtailadmin_pages:copy", args=[step.pk])).status_code == 200  # steps: Wagtail's


def test_the_copy_page_header_names_the_action_and_the_sequence(client, original):
    sequence = original["sequence"]
    client.force_login(superuser())
    html = client.get(copy_url(sequence), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    # The visible header is the breadcrumb trail (the <h1> is for screen readers only): it said
    # only "ホーム" before, as if the editor were on the dashboard.
    trail = re.search(r"<nav[^>]*パンくず.*?</nav>", html, re.S).group(0)
    assert "シナリオをコピー" in trail
    assert sequence.title in trail
    assert reverse("wagtailadmin_pages:edit", args=[sequence.pk]) in trail


def test_the_steps_listed_say_when_they_go_out_as_the_timeline_does(client, original):
    """A step sent right away read 「— 0 日」 on the copy form while the timeline said
    「すぐに（当日）」: both use the same wording."""
    sequence = original["sequence"]
    client.force_login(superuser())
    html = client.get(copy_url(sequence), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    listed = re.search(r"<ol data-stepmail-copy-steps>(.*?)</ol>", html, re.S).group(1)
    assert "ご購入ありがとうございます — すぐに（当日）" in listed
    assert "商品は届きましたか？ — 3日後" in listed
    assert "0 日" not in listed
    edit = client.get(reverse("wagtailadmin_pages:edit", args=[sequence.pk]), HTTP_ACCEPT_LANGUAGE="ja")
    timeline = re.findall(r"data-when>([^<]*)<", edit.content.decode())
    assert timeline[:2] == ["すぐに（当日）", "3日後"]
