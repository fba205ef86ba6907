"""Editors insert merge fields from a picker instead of typing tags: a toolbar control in the
paragraph's rich-text editor and a menu next to the subject and preheader, listing the allowed
fields by name in the editor's language and inserting a tag that passes validation.
(The clicks themselves are in tests/browser/test_merge_field_picker.py.)"""

import json
import re

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from wagtail.admin.rich_text.editors.draftail.features import ControlFeature
from wagtail.rich_text import features as rich_text_features

from stepmail_plugin.editor.mergefields import FEATURE, picker_fields
from stepmail_plugin.rendering.merge import EDITOR_FIELDS, MergeTemplate, validate_merge_text

from .editor import superuser
from .factories import make_sequence

pytestmark = pytest.mark.django_db


def edit_page(client, step, language):
    response = client.get(reverse("wagtailadmin_pages:edit", args=[step.pk]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def picker_data(html):
    node = BeautifulSoup(html, "html.parser").find("script", id="stepmail-merge-fields")
    return json.loads(node.string)


def test_the_paragraph_editor_has_the_merge_field_control():
    plugin = rich_text_features.get_editor_plugin("draftail", FEATURE)
    assert isinstance(plugin, ControlFeature)
    assert any("stepmail/merge-fields.js" in str(path) for path in plugin.media._js)
    from stepmail_plugin.blocks.content import ParagraphBlock

    assert FEATURE in ParagraphBlock().features


def test_the_step_editor_offers_the_picker_in_japanese(client):
    step = make_sequence(steps=[{"subject": "ありがとうございます"}]).get_steps().first()
    client.force_login(superuser())
    html = edit_page(client, step, "ja")
    soup = BeautifulSoup(html, "html.parser")
    # The subject and preheader carry the picker; the page loads its script once.
    assert soup.find("input", attrs={"name": "subject"}).has_attr("data-stepmail-merge")
    assert soup.find("input", attrs={"name": "preheader"}).has_attr("data-stepmail-merge")
    assert html.count("stepmail/merge-fields.js") == 1
    # The toolbar control registers itself after Draftail, before any editor exists.
    assert html.index("wagtailadmin/js/draftail.js") < html.index("stepmail/merge-fields-draftail.js")
    # The paragraph block's Draftail options name the control.
    assert FEATURE in html
    data = picker_data(html)
    assert data["texts"]["button"] == "差し込み項目を挿入"
    entries = {field["name"]: field for field in data["fields"]}
    assert list(entries) == list(EDITOR_FIELDS)
    assert entries["first_name"] | {"description": None} == {
        "name": "first_name", "label": "名", "description": None,
        "tag": '{{ first_name|default:"お客様" }}',
    }
    assert entries["first_name"]["description"] == "顧客の名"
    assert (entries["order_number"]["label"], entries["order_number"]["tag"]) == ("注文番号", "{{ order_number }}")


def test_an_english_editor_gets_english_labels(client):
    step = make_sequence(steps=[{"subject": "Thanks"}]).get_steps().first()
    from wagtail.users.models import UserProfile

    user = superuser()
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "en"
    profile.save()
    client.force_login(user)
    data = picker_data(edit_page(client, step, "ja"))
    entries = {field["name"]: field for field in data["fields"]}
    assert data["texts"]["button"] == "Insert a merge field"
    assert (entries["first_name"]["label"], entries["first_name"]["tag"]) == (
        "First name", '{{ first_name|default:"customer" }}')


def test_every_tag_the_picker_inserts_is_valid_and_fills_in_the_customers_value():
    values = {name: f"<{name}>" for name in EDITOR_FIELDS}
    for field in picker_fields():
        validate_merge_text(f"こんにちは {field['tag']}")
        assert MergeTemplate(field["tag"], html=False).render(values) == f"<{field['name']}>"
    name = next(f for f in picker_fields() if f["name"] == "last_name")
    assert MergeTemplate(name["tag"], html=False).render({}) in {"お客様", "customer"}
    assert re.fullmatch(r'\{\{ last_name\|default:".+" \}\}', name["tag"])


def test_headings_and_button_texts_have_the_picker_too():
    """Text blocks that take merge fields (heading, button text, block headings) get the menu;
    their stored definition (and so the migrations) does not change."""
    from stepmail_plugin.blocks.content import ButtonBlock, HeadingBlock

    heading = HeadingBlock(max_length=120)
    assert "data-stepmail-merge" in heading.field.widget.render("h", "", {"id": "h"})
    assert 'maxlength="120"' in heading.field.widget.render("h", "", {"id": "h"})
    assert "data-stepmail-merge" in ButtonBlock().child_blocks["text"].field.widget.render("t", "", {})


def test_an_ab_variants_subject_and_preheader_have_the_picker(client):
    """A/B variants are edited inline on the step: their subject and preheader (and the empty form
    the "add variant" button copies) carry the same menu, and a tag picked there goes out."""
    from stepmail_plugin.models import StepVariant

    step = make_sequence(steps=[{"subject": "ありがとうございます"}]).get_steps().first().specific
    StepVariant.objects.create(step=step, name="B", subject='{{ last_name }}様へ', weight=1)
    client.force_login(superuser())
    soup = BeautifulSoup(edit_page(client, step, "ja"), "html.parser")
    assert soup.find("input", attrs={"name": "variants-0-subject"}).has_attr("data-stepmail-merge")
    assert soup.find("input", attrs={"name": "variants-0-preheader"}).has_attr("data-stepmail-merge")
    template = soup.find(id="id_variants-EMPTY_FORM_TEMPLATE")
    assert template is not None and "data-stepmail-merge" in template.decode_contents()
    # The other fields are all still there, in the same order.
    names = [node["name"] for node in soup.select("[name^='variants-0-']") if node.get("name")]
    wanted = ["name", "weight", "subject", "preheader", "extra_delay_value", "extra_delay_unit"]
    assert [n for n in (name.removeprefix("variants-0-") for name in names) if n in wanted] == wanted


@pytest.mark.parametrize("block_name", ["text_image", "voucher", "review_request", "survey"])
def test_the_rich_texts_inside_blocks_have_the_picker_too(block_name):
    """Editors write "{{ first_name }}様" in a coupon's or a review request's text as in a
    paragraph: the same toolbar control, while the stored block definition (what migrations
    record) stays the editor-independent feature list."""
    from stepmail_plugin.models import StepEmailPage

    text = StepEmailPage._meta.get_field("body").stream_block.child_blocks[block_name].child_blocks["text"]
    assert FEATURE in text.features
    assert FEATURE not in text.deconstruct()[2]["features"]
    assert FEATURE in text.field.widget.features  # the editor widget is built with the control
