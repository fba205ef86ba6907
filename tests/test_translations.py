"""Every string a user sees has a current Japanese translation."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.core import mail
from django.test import Client

import stepmail_plugin
from stepmail_plugin.dispatch import dispatch_due

from .factories import make_sequence, place_order

PACKAGE = Path(stepmail_plugin.__file__).resolve().parent
PO = PACKAGE / "locale" / "ja" / "LC_MESSAGES" / "django.po"


def test_every_message_is_translated_and_none_is_fuzzy():
    catalog = polib.pofile(str(PO))
    assert [e.msgid for e in catalog.untranslated_entries()] == []
    assert [e.msgid for e in catalog.fuzzy_entries()] == []
    assert (PO.parent / "django.mo").stat().st_mtime >= PO.stat().st_mtime - 1, "compile the .po file"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools are not installed")
def test_the_catalog_is_current_with_the_code(tmp_path):
    copy = tmp_path / "stepmail_plugin"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "ja", "--no-obsolete", "--no-location"],
        cwd=copy, check=True, capture_output=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(PACKAGE.parent)},
    )
    fresh = {(e.msgctxt, e.msgid) for e in polib.pofile(str(copy / "locale/ja/LC_MESSAGES/django.po"))}
    ours = {(e.msgctxt, e.msgid) for e in polib.pofile(str(PO))}
    assert sorted(fresh - ours, key=str) == [], "run makemessages -l ja and translate the new strings"


@pytest.mark.django_db
def test_japanese_customers_see_japanese_mail_and_pages():
    make_sequence(steps=[{"subject": "ありがとうございます", "delay": 0}])
    place_order(guest_email="hanako@example.jp")
    dispatch_due()
    message = mail.outbox[0]
    assert "配信を停止" in message.body and "Unsubscribe" not in message.body
    url = message.extra_headers["List-Unsubscribe"][1:-1].replace("https://shop.example.jp", "")
    page = Client(HTTP_ACCEPT_LANGUAGE="ja").get(url).content.decode()
    assert "配信停止" in page
    # The raw message is UTF-8 with encoded headers, which Japanese mail clients display correctly.
    raw = message.message().as_bytes()
    assert b"=?utf-8?" in raw.lower() and b"charset=\"utf-8\"" in raw.lower()


def test_our_japanese_is_what_users_see_not_another_apps():
    """Django merges the catalogs of all apps and the ones listed earlier win: a message we share
    with Wagtail or Oscar (e.g. "From", "Phone", "Shipping") would show their translation, which
    may mean something else there (Wagtail's "From" is 変更前, "before the change"). Such messages
    carry the context "stepmail"."""
    from django.utils import translation

    catalog = polib.pofile(str(PO))
    wrong = []
    with translation.override("ja"):
        for entry in catalog.translated_entries():
            if entry.msgid_plural:
                shown = (translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
                         if entry.msgctxt else translation.ngettext(entry.msgid, entry.msgid_plural, 1))
                ours = entry.msgstr_plural[0]
            else:
                shown = (translation.pgettext(entry.msgctxt, entry.msgid)
                         if entry.msgctxt else translation.gettext(entry.msgid))
                ours = entry.msgstr
            if shown != ours:
                wrong.append((entry.msgid, ours, shown))
    assert wrong == []
