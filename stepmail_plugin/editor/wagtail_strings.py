"""Japanese for Wagtail's own admin strings that Wagtail 8.0's ja catalogs lack.

Editors of a Japanese shop saw a few English words in the middle of the Japanese admin: the bulk
publish confirmation (*Include descendants*, *Yes, publish*), the preview panel (*Preview mode*),
the StreamField's "+" (*Insert a block*) and the editor's *Collapse all* / *Expand all*. Checked
against Wagtail 8.0.1's ``wagtail/**/locale/ja`` catalogs (django.mo and djangojs.mo): none of
them has these msgids.

How each is supplied, without touching Wagtail:

* Template and Python strings (django domain): Django merges the catalogs of every installed
  app, so our catalog's translation is used where Wagtail has none. (Apps listed first in
  ``INSTALLED_APPS`` win a msgid both have; Wagtail comes before us in the install guide, so the
  day Wagtail translates these, its words are used.)
* JavaScript strings: Wagtail's JS catalog (``/admin/jsi18n/``) reads only ``wagtail.admin``'s
  djangojs catalog, so no app can add to it. :func:`js_catalog_script` adds our translations to
  the page's ``django.catalog`` right after it (``insert_global_admin_js``), only for msgids the
  catalog lacks; Wagtail's ``gettext`` reads that object when its components render.
* *Include descendants* is no msgid at all: it is the label Django derives from the field name
  of Wagtail's bulk-action form. :func:`label_bulk_action_fields` gives that field a translatable
  label (once, from ``AppConfig.ready``), if Wagtail has not given it one.

The msgids are listed with ``gettext_noop`` so that ``makemessages --no-obsolete`` keeps them.
Many more of Wagtail's editor strings lack a Japanese translation; those editors of step mail
meet are listed in wagtail_msgids.py and reach the page the first way (all are server-side).
"""

from __future__ import annotations

import json

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_lazy, gettext_noop, ngettext, ngettext_lazy

#: Strings of Wagtail's templates and Python code (django domain).
SERVER_STRINGS = (
    gettext_noop("Yes, publish"),
    gettext_noop("Preview mode"),
    gettext_noop("Include descendants"),
)

#: Strings of Wagtail's admin JavaScript (djangojs domain, which apps cannot extend).
JS_STRINGS = (
    gettext_noop("Insert a block"),
    gettext_noop("Collapse all"),
    gettext_noop("Expand all"),
    # The rich text editor, its toolbar and block menu.
    gettext_noop("Write something or type ‘/’ to insert a block"),
    gettext_noop("Blocks"),
    gettext_noop("Split block"),
    gettext_noop("Search options…"),
    gettext_noop("Pin toolbar"),
    gettext_noop("Unpin toolbar"),
    gettext_noop("Character count:"),
    # Autosave, preview, comments and the side panels.
    gettext_noop("Autosave in progress…"),
    gettext_noop("Changes have been autosaved."),
    gettext_noop("Error while sending preview data."),
    gettext_noop("A network error occurred."),
    gettext_noop("A server error occurred."),
    gettext_noop("Report this error to your website administrator with the following information:"),
    gettext_noop("Enter your comments..."),
    gettext_noop("Enter your reply..."),
    gettext_noop("Deleting"),
    gettext_noop("Yes"),
    gettext_noop("No"),
    gettext_noop("Toggle section"),
    gettext_noop("Toggle side panel"),
    gettext_noop("Toggle sidebar"),
    gettext_noop("Main menu"),
    gettext_noop("(New)"),
    gettext_noop("(1 new item in this menu)"),
    gettext_noop("(%(number)s new items in this menu)"),
    # The content checks' readability score.
    gettext_noop("Good"),
    gettext_noop("Fair"),
    gettext_noop("Complex"),
)

#: Counted strings of Wagtail's admin JavaScript: (singular, plural). Japanese has one form, so
#: the JS catalog gets one string for every count.
JS_PLURALS = (
    ("%(num)s error", "%(num)s errors"),
    ("%(num)s min", "%(num)s mins"),
    ("%(num)s pixel", "%(num)s pixels"),
)

# For makemessages, which finds plurals only in calls; never evaluated.
_EXTRACTED_JS_PLURALS = (
    ngettext_lazy("%(num)s error", "%(num)s errors", "num"),
    ngettext_lazy("%(num)s min", "%(num)s mins", "num"),
    ngettext_lazy("%(num)s pixel", "%(num)s pixels", "num"),
)


def js_catalog_script() -> SafeString:
    """``insert_global_admin_js``: our translations of :data:`JS_STRINGS` and :data:`JS_PLURALS`
    added to the page's JavaScript catalog where it has none ("" when the admin speaks English).
    A plain string serves Django's JS ``ngettext`` for every count."""
    entries = {msgid: gettext(msgid) for msgid in JS_STRINGS}
    entries.update((singular, ngettext(singular, plural, 1)) for singular, plural in JS_PLURALS)
    entries = {msgid: text for msgid, text in entries.items() if text != msgid}
    if not entries:
        return SafeString("")
    # json.dumps escapes nothing HTML-special in these fixed strings; "</" is escaped anyway.
    data = json.dumps(entries, ensure_ascii=False).replace("</", "<\\/")
    return format_html(
        "<script>(function(c){{if(!window.django||!django.catalog)return;"
        "for(var k in c){{if(!(k in django.catalog))django.catalog[k]=c[k];}}}})({});</script>",
        SafeString(data),
    )


def label_bulk_action_fields() -> None:
    """Give the "include descendants" box of Wagtail's bulk publish/unpublish forms a
    translatable label (Django would derive an English one from the field name)."""
    try:
        from wagtail.admin.views.pages.bulk_actions.page_bulk_action import DefaultPageForm
    except ImportError:  # moved in a later Wagtail: its label is then Wagtail's business
        return
    field = DefaultPageForm.base_fields.get("include_descendants")
    if field is not None and field.label is None:
        field.label = gettext_lazy("Include descendants")
