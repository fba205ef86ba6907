"""What editors see and set in the Wagtail admin: the rules tab and the reach of a new step."""

import re
from datetime import time

import pytest
from django.contrib.auth import get_user_model
from wagtail.test.utils.form_data import inline_formset, nested_form_data

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import SequencePage

from .builders import make_product, order_of
from .factories import make_sequence

# These tests read English labels; the shop itself stays Japanese.
pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser("editor", "editor@example.jp", "pw")
    client.force_login(user)
    return client


RULE_FIELDS = [
    "threshold_value", "trigger_statuses", "anniversary_of", "form_page", "filter_products", "filter_categories",
    "filter_customer", "filter_min_total", "filter_groups", "exit_on_purchase", "exit_products", "reentry",
    "cooldown_days", "window_start", "window_end", "window_weekdays", "stale_after_hours", "priority",
]


@pytest.mark.django_db
def test_the_sequence_edit_view_has_a_rules_tab_with_every_rule(editor):
    sequence = make_sequence(steps=[{"subject": "a"}])
    html = editor.get(f"/cms/pages/{sequence.pk}/edit/").content.decode()
    assert "Rules" in html
    for name in RULE_FIELDS:
        assert f'name="{name}"' in html, name
    assert "Earliest local time of day" in html  # help text is shown


@pytest.mark.django_db
def test_an_editor_sets_a_window_and_weekdays_through_the_admin(editor):
    sequence = make_sequence(steps=[{"subject": "a"}])
    data = nested_form_data({
        "title": sequence.title, "slug": sequence.slug, "trigger": "order_placed", "kind": "marketing",
        "description": "", "threshold_unit": "hours", "anniversary_of": "registration",
        "filter_customer": "any", "reentry": "each", "priority": "70",
        "window_start": "10:00", "window_end": "20:00", "holdout_percent": "0",
        "comments": inline_formset([]),
    })
    data["window_weekdays"] = ["0", "2", "4"]
    data["action-publish"] = "publish"
    response = editor.post(f"/cms/pages/{sequence.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    sequence = SequencePage.objects.get(pk=sequence.pk)
    assert (sequence.window_start, sequence.window_end) == (time(10), time(20))
    assert (sequence.window_weekdays, sequence.priority) == ("0,2,4", 70)
    html = editor.get(f"/cms/pages/{sequence.pk}/edit/").content.decode()
    ticked = re.findall(r'<input type="checkbox" name="window_weekdays" value="(\d)"[^>]* checked>', html)
    assert ticked == ["0", "2", "4"]  # shown ticked when the editor comes back


@pytest.mark.django_db
def test_a_window_that_ends_before_it_starts_is_refused(editor):
    sequence = make_sequence(steps=[{"subject": "a"}])
    data = nested_form_data({
        "title": sequence.title, "slug": sequence.slug, "trigger": "order_placed", "kind": "marketing",
        "threshold_unit": "hours", "anniversary_of": "registration", "filter_customer": "any",
        "reentry": "each", "priority": "50", "window_start": "20:00", "window_end": "09:00",
        "comments": inline_formset([]),
    })
    response = editor.post(f"/cms/pages/{sequence.pk}/edit/", data)
    assert response.status_code == 200
    assert "The window must end after it starts" in response.content.decode()


@pytest.mark.django_db
def test_before_adding_a_step_the_editor_sees_how_many_customers_it_reaches(editor):
    sequence = make_sequence(steps=[{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}])
    for n in range(3):
        order_of(make_product(), guest_email=f"c{n}@example.jp")
    dispatch_due()
    html = editor.get(f"/cms/pages/add/stepmail/stepemailpage/{sequence.pk}/").content.decode()
    assert "reaches 3 customer(s)" in html
    second = sequence.get_children().last()
    html = editor.get(f"/cms/pages/{second.pk}/edit/").content.decode()
    assert "reaches 3 customer(s)" in html  # all three are waiting for it
    first = sequence.get_children().first()
    html = editor.get(f"/cms/pages/{first.pk}/edit/").content.decode()
    assert "reaches 0 customer(s)" in html  # everyone has passed it
