"""Only published sequences and steps take part; drafts, unpublishing and deletions lose nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment, StepEmailPage

from .factories import add_step, make_sequence, place_order


def at_day(start, days):
    return time_machine.travel(start + timedelta(days=days, minutes=1), tick=False)


@pytest.mark.django_db
def test_an_unpublished_sequence_enrolls_nobody():
    make_sequence(steps=[{"subject": "下書き", "delay": 0}], publish=False)
    place_order(guest_email="guest@example.jp")
    assert Enrollment.objects.count() == 0
    dispatch_due()
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_unpublished_step_is_skipped_and_recorded_and_the_next_one_still_goes():
    sequence = make_sequence(steps=[{"subject": "当日", "delay": 0}])
    add_step(sequence, subject="下書きのまま", delay=3, publish=False)
    add_step(sequence, subject="5日後", delay=5)
    start = timezone.now()
    place_order(guest_email="guest@example.jp")
    for day in (0, 3, 5):
        with at_day(start, day):
            dispatch_due()
    assert [m.subject for m in mail.outbox] == ["当日", "5日後"]
    skipped = Delivery.objects.get(step__title="下書きのまま")
    assert (skipped.status, skipped.reason) == (DeliveryStatus.SKIPPED, "step_unpublished")


@pytest.mark.django_db
def test_unpublishing_a_sequence_pauses_it_and_republishing_resumes():
    sequence = make_sequence(steps=[{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}])
    start = timezone.now()
    place_order(guest_email="guest@example.jp")
    dispatch_due()
    sequence.unpublish()
    with at_day(start, 4):
        assert dispatch_due().claimed == 0
    assert Delivery.objects.get(step__title="3日後").status == DeliveryStatus.SCHEDULED
    sequence.get_latest_revision().publish()
    with at_day(start, 4):
        dispatch_due()
    assert [m.subject for m in mail.outbox] == ["当日", "3日後"]


@pytest.mark.django_db
def test_a_deleted_step_is_skipped_and_never_stalls_the_sequence():
    sequence = make_sequence(steps=[{"subject": "当日", "delay": 0}, {"subject": "消す", "delay": 3}])
    add_step(sequence, subject="7日後", delay=7)
    start = timezone.now()
    place_order(guest_email="guest@example.jp")
    dispatch_due()
    StepEmailPage.objects.get(title="消す").delete()
    for day in (3, 7):
        with at_day(start, day):
            dispatch_due()
    assert [m.subject for m in mail.outbox] == ["当日", "7日後"]
    assert Delivery.objects.filter(status=DeliveryStatus.SKIPPED, reason="step_deleted").count() == 1


@pytest.mark.django_db
def test_the_live_revision_at_send_time_is_what_goes_out():
    sequence = make_sequence(steps=[{"subject": "当日", "delay": 0}])
    step = add_step(sequence, subject="旧い件名", delay=3)
    start = timezone.now()
    place_order(guest_email="guest@example.jp")
    dispatch_due()
    step.subject = "下書きの件名"
    step.save_revision()  # a draft: not live yet
    with at_day(start, 3):
        dispatch_due()
    assert mail.outbox[-1].subject == "旧い件名"

    step = StepEmailPage.objects.get(pk=step.pk)
    step.subject = "公開した件名"
    step.save_revision().publish()
    place_order(guest_email="second@example.jp")
    with at_day(timezone.now(), 3):
        dispatch_due()
    assert mail.outbox[-1].subject == "公開した件名"


@pytest.mark.django_db
def test_bulk_publishing_a_sequence_refuses_a_step_that_fails_the_publishing_checks(client):
    """Wagtail's bulk "Publish" with "Include descendants" skips the page form: a step that the
    editor could not publish from its form (here, a coupon block without a coupon template) is
    refused with a message naming it, instead of a server error, and nothing is half-published."""
    from django.contrib.messages import get_messages
    from django.urls import reverse

    from stepmail_plugin.models import SequencePage

    from .editor import superuser
    from .shop import block

    client.force_login(superuser())
    sequence = make_sequence("クーポンのお知らせ", publish=False, steps=[
        {"subject": "ありがとうございます", "delay": 0, "publish": False},
        {"subject": "クーポンです", "delay": 3, "publish": False, "title": "2通目 クーポン",
         "body": [block("voucher", template=None, heading="クーポン", text="", button_text="",
                        page=None, url="")]},
    ])
    url = reverse("wagtail_bulk_action", args=["wagtailcore", "page", "publish"])
    response = client.post(f"{url}?id={sequence.pk}&next=/cms/pages/", {"include_descendants": "on"})
    assert response.status_code == 302 and response.url == "/cms/pages/"
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("2通目 クーポン" in text for text in texts), texts
    assert not SequencePage.objects.get(pk=sequence.pk).live
    assert not StepEmailPage.objects.filter(live=True).exists()

    # Corrected, the same bulk action publishes the sequence and its steps.
    from .shop import voucher_template

    step = StepEmailPage.objects.get(title="2通目 クーポン")
    draft = step.get_latest_revision_as_object()
    draft.body = [block("voucher", template=voucher_template().pk, heading="クーポン", text="",
                        button_text="", page=None, url="")]
    draft.save_revision()
    client.post(f"{url}?id={sequence.pk}&next=/cms/pages/", {"include_descendants": "on"})
    assert SequencePage.objects.get(pk=sequence.pk).live
    assert StepEmailPage.objects.filter(live=True).count() == 2
