"""Editors add A/B variants on the step page in the Wagtail admin; published variants are used."""

import pytest
from django.contrib.auth import get_user_model

from stepmail_plugin.models import StepEmailPage, StepVariant

from .factories import make_sequence, wagtail_root

# These tests read English labels; the shop itself stays Japanese.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_the_step_editor_shows_the_ab_panel_and_saves_variants_with_the_revision(client):
    wagtail_root()
    client.force_login(get_user_model().objects.create_superuser("editor", "e@example.jp", "pw"))
    make_sequence(steps=[{"subject": "元の件名", "delay": 0}])
    step = StepEmailPage.objects.get()
    html = client.get(f"/cms/pages/{step.pk}/edit/").content.decode()
    assert "A/B test" in html and "variants-TOTAL_FORMS" in html

    step.variants.add(StepVariant(name="B", weight=2, subject="新しい件名 {{ first_name }}"))
    step.save_revision().publish()
    variant = StepVariant.objects.get()
    assert (variant.step_id, variant.weight, variant.subject) == (step.pk, 2, "新しい件名 {{ first_name }}")
    # A draft change does not reach what is sent until published.
    step = StepEmailPage.objects.get()
    step.variants.all()[0].subject = "下書き"
    step.save_revision()
    assert StepVariant.objects.get().subject == "新しい件名 {{ first_name }}"


def test_variant_subjects_are_checked_like_the_step_subject():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        StepVariant(name="B", subject="{{ password }}").clean()
    assert "subject" in error.value.message_dict
