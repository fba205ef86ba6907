"""Wagtail 8.0's Japanese catalogs lack a few of its own admin strings; a Japanese editor saw them
in English in the middle of the Japanese admin. Our catalog supplies them: the bulk publish
confirmation, the preview panel, the StreamField's "+" and "Collapse all", and the hundred-odd
strings of the page editor's side panels, the explorer and the dashboard (wagtail_msgids.py)."""

import gettext
from pathlib import Path

import pytest
import wagtail
from django.urls import reverse

from stepmail_plugin.editor.wagtail_msgids import EDITOR_PLURALS, EDITOR_STRINGS
from stepmail_plugin.editor.wagtail_strings import JS_PLURALS, JS_STRINGS, SERVER_STRINGS

from .editor import superuser
from .factories import make_sequence, wagtail_root

pytestmark = pytest.mark.django_db


def test_wagtails_own_japanese_catalogs_really_lack_them():
    """When a Wagtail release translates them, this fails: drop ours then."""
    catalogs = [
        gettext.GNUTranslations(path.open("rb"))
        for path in Path(wagtail.__file__).parent.glob("**/locale/ja/LC_MESSAGES/*.mo")
    ]
    assert catalogs
    for msgid in SERVER_STRINGS + JS_STRINGS + EDITOR_STRINGS:
        assert not any(msgid in catalog._catalog for catalog in catalogs), msgid
    for singular, _plural in EDITOR_PLURALS + JS_PLURALS:
        assert not any((singular, 0) in catalog._catalog for catalog in catalogs), singular


def test_every_listed_wagtail_string_has_japanese():
    from django.utils import translation

    with translation.override("ja"):
        for msgid in EDITOR_STRINGS:
            assert translation.gettext(msgid) != msgid, msgid
        for singular, plural in EDITOR_PLURALS:
            assert translation.ngettext(singular, plural, 2) != plural, singular


def test_the_bulk_publish_confirmation_is_japanese(client):
    sequence = make_sequence(publish=False, steps=[{"subject": "ありがとう", "publish": False}])
    client.force_login(superuser())
    url = reverse("wagtail_bulk_action", args=["wagtailcore", "page", "publish"])
    html = client.get(f"{url}?id={sequence.pk}", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "下位ページも含める" in html and "Include descendants" not in html
    assert "はい、公開します" in html and "Yes, publish" not in html


def test_the_step_editor_is_japanese_in_wagtails_own_words(client):
    step = make_sequence(steps=[{"subject": "ありがとう"}]).get_steps().first()
    client.force_login(superuser())
    html = client.get(reverse("wagtailadmin_pages:edit", args=[step.pk]), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "プレビューモード" in html and "Preview mode" not in html
    # Strings of Wagtail's JavaScript go into the page's JS catalog after Wagtail's own.
    assert html.index("/jsi18n/") < html.index('"Insert a block": "ブロックを挿入"')
    assert '"Collapse all": "すべて折りたたむ"' in html
    # The rich text editor's placeholder and the readability score, both drawn by Wagtail's JS.
    assert '"Write something or type ‘/’ to insert a block": "文章を入力するか、「/」を入力してブロックを挿入"' in html
    assert '"%(num)s min": "%(num)s 分"' in html
    # The side panels and the header: status, publishing schedule, checks, preview sizes.
    for english, japanese in [("Toggle breadcrumbs", "パンくずリストの表示を切り替え"),
                              ("Set publishing schedule", "公開スケジュールを設定"),
                              ("No publishing schedule set", "公開スケジュールは設定されていません"),
                              ("Preview in mobile size", "モバイルのサイズでプレビュー"),
                              ("Content metrics", "コンテンツの指標"),
                              ("Keyboard shortcuts", "キーボードショートカット")]:
        assert japanese in html and english not in html, english


def test_the_explorer_is_japanese_in_wagtails_own_words(client):
    sequence = make_sequence(steps=[{"subject": "ありがとう"}, {"subject": "その後", "delay": 3}])
    client.force_login(superuser())
    html = client.get(reverse("wagtailadmin_explore", args=[sequence.get_parent().pk]),
                      HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "一括操作" in html and "Bulk actions" not in html
    assert "メニューの並び順を変更" in html and "Sort menu order" not in html


def test_an_english_admin_gets_no_extra_catalog(client):
    from wagtail.users.models import UserProfile

    wagtail_root()  # the dashboard links to the tree's root (a transactional test may have flushed it)
    user = superuser()
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "en"
    profile.save()
    client.force_login(user)
    html = client.get(reverse("wagtailadmin_home"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "Insert a block" not in html


def test_the_dashboard_counts_are_japanese(client):
    wagtail_root()
    make_sequence(steps=[{"subject": "ありがとう"}])
    client.force_login(superuser())
    html = client.get(reverse("wagtailadmin_home"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "ページ<span" in html and "件のドキュメント<span" in html and " Pages <span" not in html


def test_the_account_page_is_japanese(client):
    wagtail_root()
    client.force_login(superuser())
    account = client.get(reverse("wagtailadmin_account"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "テーマの設定" in account and "Theme preferences" not in account
    assert "サーバーのタイムゾーンを使う" in account and "Use server time zone" not in account
