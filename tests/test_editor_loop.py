"""The editor's loop in the Wagtail admin: preview with real orders, time travel, test send,
publishing checks, ready-made sequences — with permission checks."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from wagtail.test.utils.form_data import rich_text

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import (
    Delivery,
    Enrollment,
    IssuedVoucher,
    SequenceIndexPage,
    SequencePage,
    StepEmailPage,
)

from .editor import edit_form_data, editor, superuser
from .factories import make_sequence, make_user
from .shop import (
    block,
    order,
    product,
    products_block,
    recommend,
    voucher_block,
    voucher_template,
    wagtail_image,
)


@pytest.fixture
def scenario():
    shirt, pants = product("リネンシャツ", 4800), product("ワイドパンツ", 6800)
    recommend(shirt, pants)
    template = voucher_template()
    sequence = make_sequence("アパレル購入後フォロー", steps=[
        {"subject": "{{ first_name }}様、ご購入ありがとうございます", "delay": 0,
         "preheader": "ご注文内容のご確認",
         "body": [block("order_summary", heading="ご注文内容", show_images=True, show_totals=True)]},
        {"subject": "{{ first_name }}様に合うボトムはこれです", "delay": 5,
         "body": [products_block(sources=["recommended"]), voucher_block(template)]},
    ])
    steps = list(sequence.get_steps())
    return {"sequence": sequence, "thanks": steps[0], "cross_sell": steps[1], "shirt": shirt, "template": template}


def denied(response):
    """Wagtail's admin answers a permission error with a redirect to its dashboard and a message."""
    return response.status_code == 403 or (response.status_code == 302 and response.url == reverse("wagtailadmin_home"))


def preview(client, step, **params):
    return client.get(reverse("stepmail_editor:preview_step", args=[step.pk]), params)


@pytest.mark.django_db
def test_preview_uses_the_latest_real_order_with_the_editors_own_name(client, scenario):
    order(scenario["shirt"], user=make_user(first_name="花子"))
    client.force_login(superuser())
    response = preview(client, scenario["cross_sell"])
    assert response.status_code == 200
    page = response.content.decode()
    assert "編集様に合うボトムはこれです" in page  # the editor's name, not the customer's
    assert "花子" not in page
    mail_html = unescape(re.search(r'srcdoc="([^"]*)"', page).group(1))
    assert "ワイドパンツ" in mail_html and "￥6,800" in mail_html  # real recommendations
    assert "SAMPLE-0000" in mail_html  # the coupon is a sample…
    assert IssuedVoucher.objects.count() == 0  # …and nothing was issued
    assert 'width="375"' in preview(client, scenario["cross_sell"], mode="mobile").content.decode()
    text = preview(client, scenario["cross_sell"], mode="text").content.decode()
    assert "ワイドパンツ ￥6,800" in unescape(text)


@pytest.mark.django_db
def test_wagtails_preview_panel_shows_subject_preheader_and_each_mode(scenario):
    order(scenario["shirt"], guest_email="guest@example.jp")
    user = superuser()
    step = scenario["thanks"]
    # What Wagtail's preview panel calls, with the editor's request.
    request = RequestFactory().get("/")
    request.user = user
    for mode, expected in (("html", 'width="680"'), ("mobile", 'width="375"')):
        response = step.serve_preview(request, mode)
        content = response.content.decode()
        assert expected in content and "ご注文内容のご確認" in content
        assert "編集様、ご購入ありがとうございます" in content
        assert "リネンシャツ" in unescape(content)
    text = step.serve_preview(request, "text").content.decode()
    assert text.startswith("From: ") and "Subject: 編集様、ご購入ありがとうございます" in text
    assert "Preheader: ご注文内容のご確認" in text


@pytest.mark.django_db
def test_a_shop_without_orders_previews_a_built_sample(client, scenario):
    client.force_login(superuser())
    page = preview(client, scenario["thanks"]).content.decode()
    assert "built sample" in page.lower() or "サンプル" in page
    assert "リネンシャツ" in unescape(page)  # a real product of the catalogue


@pytest.mark.django_db
def test_time_travel_shows_a_customers_mail_at_its_due_time(client, scenario):
    customer = make_user(first_name="花子", email="hanako@example.jp")
    order(scenario["shirt"], user=customer)
    enrollment = Enrollment.objects.get()
    client.force_login(superuser())
    page = preview(client, scenario["cross_sell"], enrollment=enrollment.pk).content.decode()
    assert "花子様に合うボトムはこれです" in page
    due = timezone.localtime(enrollment.anchor_at + timedelta(days=5))
    assert f"{due.month}月{due.day}日" in page
    assert "hanako@example.jp" in page
    assert IssuedVoucher.objects.count() == 0 and Delivery.objects.count() == 1
    # An address that was typed or cut short: not found, not a server error.
    for bad in ("abc", "12x", "99999999"):
        assert preview(client, scenario["cross_sell"], enrollment=bad).status_code == 404


@pytest.mark.django_db
def test_preview_permissions(client, scenario):
    order(scenario["shirt"], guest_email="guest@example.jp")
    index = SequenceIndexPage.objects.get()
    outsider_home = SequenceIndexPage(title="別のフォルダ", slug="other")
    index.get_parent().add_child(instance=outsider_home)
    client.force_login(editor(outsider_home, username="outsider", email="outsider@example.jp"))
    assert denied(preview(client, scenario["thanks"]))
    assert denied(client.get(reverse("stepmail_editor:test_send_step", args=[scenario["thanks"].pk])))
    assert denied(client.post(reverse("stepmail_editor:test_send_step", args=[scenario["thanks"].pk]),
                              {"email": "x@example.jp"}))
    assert mail.outbox == []

    client.force_login(editor(index))
    assert preview(client, scenario["thanks"]).status_code == 200
    # A customer's own mail needs permission to see enrollments.
    enrollment = Enrollment.objects.get()
    assert denied(preview(client, scenario["thanks"], enrollment=enrollment.pk))
    client.force_login(editor(index, username="crm", email="crm@example.jp", extra=["stepmail.view_enrollment"]))
    assert preview(client, scenario["thanks"], enrollment=enrollment.pk).status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("english")
def test_test_send_of_a_step_and_of_a_whole_sequence(client, scenario):
    order(scenario["shirt"], guest_email="guest@example.jp")
    Delivery.objects.all().delete()
    client.force_login(superuser())
    url = reverse("stepmail_editor:test_send_step", args=[scenario["cross_sell"].pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"email": "qa@shop.example.jp"})
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["qa@shop.example.jp"]
    assert message.subject.startswith("[TEST]") and "編集様に合うボトムはこれです" in message.subject
    assert message.extra_headers["X-Stepmail-Test"] == "1"
    assert message.tags == ["stepmail-test"]
    assert "List-Unsubscribe" not in message.extra_headers  # a test never unsubscribes anyone
    assert "ワイドパンツ" in message.alternatives[0][0]
    # Nothing counts: no delivery, no coupon.
    assert Delivery.objects.count() == 0 and IssuedVoucher.objects.count() == 0

    mail.outbox.clear()
    client.post(reverse("stepmail_editor:test_send_sequence", args=[scenario["sequence"].pk]), {"email": "qa@shop.example.jp"})
    assert [m.subject.split(" ", 2)[:2] for m in mail.outbox] == [["[TEST", "1/2]"], ["[TEST", "2/2]"]]
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("english")
def test_test_send_uses_the_latest_draft(client, scenario):
    step = scenario["thanks"]
    step.subject = "下書きの件名"
    step.save_revision()
    client.force_login(superuser())
    client.post(reverse("stepmail_editor:test_send_step", args=[step.pk]), {"email": "qa@shop.example.jp"})
    assert mail.outbox[0].subject == "[TEST] 下書きの件名"


@pytest.mark.django_db
@pytest.mark.usefixtures("english")
def test_the_web_version_link_shows_the_mail_that_was_sent(client, scenario):
    order(scenario["shirt"], user=make_user())
    dispatch_due()
    message = mail.outbox[0]
    link = re.search(r"View this email in your browser: (\S+)", message.body).group(1)
    assert link.startswith("https://shop.example.jp/stepmail/mail/")
    page = client.get(link.replace("https://shop.example.jp", ""))
    assert page.status_code == 200 and page["X-Robots-Tag"].startswith("noindex")
    assert "花子様、ご購入ありがとうございます" in page.content.decode()
    assert "リネンシャツ" in page.content.decode()
    assert client.get(link.replace("https://shop.example.jp", "")[:-3] + "xx/").status_code == 400


@pytest.mark.django_db
@pytest.mark.usefixtures("english")
def test_publishing_shows_errors_as_form_errors_and_drafts_may_be_incomplete(client, scenario):
    client.force_login(superuser())
    step = scenario["cross_sell"]
    url = reverse("wagtailadmin_pages:edit", args=[step.pk])
    body = [("voucher", {"template": "", "heading": "クーポン", "text": rich_text("<p>どうぞ</p>"),
                         "button_text": "使う", "page": "", "url": ""}),
            ("button", {"text": "見る", "page": "", "url": ""})]

    draft = client.post(url, edit_form_data(client, step, [(k, dict(v)) for k, v in body]))
    assert draft.status_code == 302  # a draft may lack what publishing needs

    published = client.post(url, edit_form_data(client, step, [(k, dict(v)) for k, v in body],
                                                 **{"action-publish": "action-publish"}))
    assert published.status_code == 200
    errors = str(published.context["form"].errors.as_data()) + published.content.decode()
    assert "Choose the coupon template" in errors or "クーポン" in errors
    assert "Choose a page or enter a URL for the button" in errors
    assert StepEmailPage.objects.get(pk=step.pk).body[0].block_type == "products"  # live content unchanged

    missing_subject = client.post(url, edit_form_data(client, step, [], subject="", **{"action-publish": "action-publish"}))
    assert missing_subject.status_code == 200 and "subject" in missing_subject.context["form"].errors

    unknown_field = client.post(url, edit_form_data(client, step, [], subject="{{ frist_name }}様"))
    assert "frist_name" in unknown_field.content.decode()

    first = scenario["thanks"]  # sent on day 0, before this step's day 5
    later = client.post(reverse("wagtailadmin_pages:edit", args=[first.pk]),
                        edit_form_data(client, first, [], delay_value="9", **{"action-publish": "action-publish"}))
    assert later.status_code == 200 and "delay_value" in later.context["form"].errors


@pytest.mark.django_db
@pytest.mark.usefixtures("english")
def test_saving_warns_about_long_subjects_missing_alt_text_and_clipping(client, scenario, settings):
    client.force_login(superuser())
    step = scenario["thanks"]
    image = wagtail_image("コーデ")
    data = edit_form_data(
        client, step,
        [("image", {"image": str(image.pk), "alt_text": "", "link": ""})],
        subject="{{ first_name }}様、ご購入いただいたリネンシャツのお手入れ方法と、おすすめのコーディネートをご紹介します",
    )
    settings.STEPMAIL = {**settings.STEPMAIL, "HTML_WARNING_BYTES": 2000}
    response = client.post(reverse("wagtailadmin_pages:edit", args=[step.pk]), data, follow=True)
    warnings = " ".join(str(m) for m in response.context["messages"])
    assert "characters long" in warnings
    assert "no alternative text" in warnings
    assert "Gmail clips" in warnings


@pytest.mark.django_db
def test_ready_made_sequences_are_created_as_drafts_in_one_click(client, scenario):
    client.force_login(superuser())
    url = reverse("stepmail_editor:blueprints")
    page = client.get(url).content.decode()
    assert "アパレル購入後フォロー" in page
    # Triggers another app registers (birthday, basket_abandoned, form_submitted) are named
    # by key: without them the template is listed but cannot be created.
    assert "birthday" in page
    index = SequenceIndexPage.objects.get()
    response = client.post(url, {"blueprint": "apparel_post_purchase", "apparel_post_purchase-language": "ja",
                                 "apparel_post_purchase-parent": index.pk,
                                 "apparel_post_purchase-voucher_template": scenario["template"].pk})
    assert response.status_code == 302
    created = SequencePage.objects.exclude(pk=scenario["sequence"].pk).get()
    assert (created.trigger, created.live) == ("order_placed", False)
    steps = list(created.get_steps())
    assert [(s.delay_value, s.subject, s.live) for s in steps] == [
        (0, '{{ first_name|default:"お客" }}様、ご購入ありがとうございます', False),
        (3, "もう洋服は着てみましたか?", False),
        (5, '{{ first_name|default:"お客" }}様に合うボトムはこれです', False),
        (7, "この靴と合わせてみても良いですね", False),
    ]
    assert [c.block_type for c in steps[2].body] == ["heading", "paragraph", "products"]
    # Titles for the page tree and the lists read as text, not as merge tags.
    assert [s.title for s in steps][:3] == [
        "1. お客様、ご購入ありがとうございます", "2. もう洋服は着てみましたか?", "3. お客様に合うボトムはこれです"]

    english = client.post(url, {"blueprint": "welcome_series", "welcome_series-language": "en",
                                "welcome_series-parent": index.pk,
                                "welcome_series-voucher_template": scenario["template"].pk})
    assert english.status_code == 302
    assert SequencePage.objects.get(trigger="user_registered").title == "Welcome series"

    birthday = client.post(url, {"blueprint": "birthday_coupon", "birthday_coupon-language": "ja",
                                 "birthday_coupon-parent": index.pk,
                                 "birthday_coupon-voucher_template": scenario["template"].pk})
    assert birthday.status_code == 302
    assert SequencePage.objects.filter(trigger="birthday", live=False).exists()


@pytest.mark.django_db
def test_a_created_sequence_can_be_published_previewed_and_sent(client, scenario):
    from stepmail_plugin.editor.blueprints import create_from_blueprint, get_blueprint

    index = SequenceIndexPage.objects.get()
    scenario["sequence"].unpublish()
    sequence = create_from_blueprint(get_blueprint("review_request"), index, "ja",
                                     shop_url="https://shop.example.jp/", voucher_template=scenario["template"])
    steps = list(sequence.get_steps())
    # The survey block needs a survey page before the first step can be published.
    with pytest.raises(Exception):
        steps[0].get_latest_revision().publish()
    steps[1].get_latest_revision().publish()
    sequence.get_latest_revision().publish()
    order(scenario["shirt"], user=make_user())
    client.force_login(superuser())
    assert preview(client, steps[1]).status_code == 200
    with pytest.MonkeyPatch.context():
        from time_machine import travel

        with travel(timezone.now() + timedelta(days=7, minutes=1), tick=False):
            dispatch_due()
    sent = [m for m in mail.outbox if "レビュー" in m.subject]
    assert len(sent) == 1
    html = sent[0].alternatives[0][0]
    assert "/reviews/add/" in html and re.search(r'class="sm-coupon-code"[^>]*>[A-Z0-9]{8}<', html)


@pytest.mark.django_db
def test_editors_hand_pick_products_with_a_chooser(client, scenario):
    client.force_login(superuser())
    response = client.get(reverse("stepmail_product_chooser:choose"), {"q": "パンツ"})
    assert response.status_code == 200
    html = response.json()["html"]
    assert "ワイドパンツ" in html and "リネンシャツ" not in html
    chosen = client.get(reverse("stepmail_product_chooser:chosen", args=[scenario["shirt"].pk]))
    assert chosen.json()["result"]["title"] == "リネンシャツ"


@pytest.mark.django_db
def test_the_admin_pages_of_the_editors_loop_render(client, scenario):
    from wagtail.models import Site

    client.force_login(superuser())
    sequence, step = scenario["sequence"], scenario["thanks"]
    add = reverse("wagtailadmin_pages:add", args=["stepmail", "stepemailpage", sequence.pk])
    edit = client.get(reverse("wagtailadmin_pages:edit", args=[step.pk])).content.decode()
    assert client.get(add).status_code == 200
    # The header menu leads to the preview and to test sends.
    assert reverse("stepmail_editor:preview_step", args=[step.pk]) in edit
    assert reverse("stepmail_editor:test_send_step", args=[step.pk]) in edit
    sequence_edit = client.get(reverse("wagtailadmin_pages:edit", args=[sequence.pk])).content.decode()
    assert reverse("stepmail_editor:test_send_sequence", args=[sequence.pk]) in sequence_edit
    site = Site.objects.get(is_default_site=True)
    assert client.get(reverse("wagtailsettings:edit", args=["stepmail", "stepmailbrandsettings", site.pk])).status_code == 200
    assert client.get(reverse("wagtailsnippets_stepmail_vouchertemplate:list")).status_code == 200
    assert reverse("stepmail_editor:blueprints") in client.get(reverse("wagtailadmin_home")).content.decode()


@pytest.mark.django_db
def test_admin_pages_of_the_loop_say_what_they_are_in_their_header(client, scenario):
    """The header of the templates and test-send pages names the page (not only "Home")."""
    from django.utils import translation

    client.force_login(superuser())
    step = scenario["thanks"]
    with translation.override("ja"):
        templates = client.get(reverse("stepmail_editor:blueprints"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
        test_send = client.get(reverse("stepmail_editor:test_send_step", args=[step.pk]),
                               HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    # The visible header is the breadcrumb trail (the <h1> is for screen readers only).
    trail = re.search(r"<nav[^>]*パンくず.*?</nav>|<nav[^>]*Breadcrumb.*?</nav>", templates, re.S).group(0)
    assert "テンプレートシナリオ" in trail
    trail = re.search(r"<nav[^>]*パンくず.*?</nav>|<nav[^>]*Breadcrumb.*?</nav>", test_send, re.S).group(0)
    assert "テスト送信" in trail and step.title in trail


@pytest.mark.django_db
def test_the_explorer_lists_a_sequences_steps_in_the_order_they_are_sent(client, scenario):
    client.force_login(superuser())
    sequence, first, second = scenario["sequence"], scenario["thanks"], scenario["cross_sell"]
    # Edited last, the first step would come first if the explorer sorted by last edit.
    second.save_revision().publish()
    first.title = "1通目 お礼"
    first.save_revision().publish()
    html = client.get(reverse("wagtailadmin_explore", args=[sequence.pk])).content.decode()
    assert html.index(f"page_{first.pk}_title") < html.index(f"page_{second.pk}_title")
    second.title = "2通目 クロスセル"
    second.save_revision().publish()
    html = client.get(reverse("wagtailadmin_explore", args=[sequence.pk])).content.decode()
    assert html.index(f"page_{first.pk}_title") < html.index(f"page_{second.pk}_title")


@pytest.mark.django_db
def test_ready_made_sequences_are_listed_in_the_editors_admin_language(client, scenario):
    """An editor whose account prefers English gets the templates' English titles, even from a
    Japanese browser (as the rest of the admin)."""
    from wagtail.users.models import UserProfile

    user = superuser()
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "en"
    profile.save()
    client.force_login(user)
    html = client.get(reverse("stepmail_editor:blueprints"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "Apparel post-purchase" in html and "アパレル購入後フォロー" not in html
    assert "Ready-made sequences" in html
    # Each template names its trigger as the sequence's trigger field does, not only by its key.
    assert "Order placed (<code>order_placed</code>)" in html


@pytest.mark.django_db
def test_the_document_request_template_asks_for_its_form_page(client, scenario):
    from .test_trigger_forms_and_registry import document_request_form

    client.force_login(superuser())
    url = reverse("stepmail_editor:blueprints")
    index = SequenceIndexPage.objects.get()
    form_page = document_request_form()
    data = {"blueprint": "document_request", "document_request-language": "ja", "document_request-parent": index.pk}
    refused = client.post(url, data)
    assert refused.status_code == 200  # the form again, with the field to fill
    assert 'name="document_request-form_page"' in refused.content.decode()
    assert not SequencePage.objects.filter(trigger="form_submitted").exists()
    created = client.post(url, {**data, "document_request-form_page": form_page.pk})
    assert created.status_code == 302
    sequence = SequencePage.objects.get(trigger="form_submitted")
    assert (sequence.form_page_id, sequence.live, len(sequence.get_steps())) == (form_page.pk, False, 4)
