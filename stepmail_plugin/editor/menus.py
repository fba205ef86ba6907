"""Buttons and menu items that lead editors to previews, test sends, copies and ready-made
sequences."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.action_menu import ActionMenuItem
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets import Button

from ..models import SequencePage, StepEmailPage


def _is(page, model) -> bool:
    cls = getattr(page, "specific_class", None) or type(page)
    return issubclass(cls, model)


def page_header_buttons(page, user, view_name=None, next_url=None):
    """Header buttons on step and sequence pages ("…" menu of the page header)."""
    if page is None or not page.pk or not page.permissions_for_user(user).can_edit():
        return
    if _is(page, StepEmailPage):
        yield Button(_("Preview with real data"), reverse("stepmail_editor:preview_step", args=[page.pk]),
                     icon_name="view", priority=40)
        yield Button(_("Test send"), reverse("stepmail_editor:test_send_step", args=[page.pk]),
                     icon_name="mail", priority=41)
    elif _is(page, SequencePage):
        yield Button(_("Test send all steps"), reverse("stepmail_editor:test_send_sequence", args=[page.pk]),
                     icon_name="mail", priority=41)
        yield copy_sequence_button(page, priority=31)


def copy_sequence_button(page, priority: int) -> Button:
    return Button(_("Copy sequence"), reverse("stepmail_editor:copy_sequence", args=[page.pk]),
                  icon_name="copy", priority=priority)


def page_listing_more_buttons(page, user, next_url=None):
    """"Copy sequence" in a sequence's "…" menu of the page listing (who may edit it)."""
    if _is(page, SequencePage) and page.permissions_for_user(user).can_copy():
        yield copy_sequence_button(page, priority=21)


class TestSendMenuItem(ActionMenuItem):
    """"Test send" in the page editor's action menu (sends the latest saved revision)."""

    label = _("Test send (saved version)")
    name = "action-stepmail-test-send"
    icon_name = "mail"

    def is_shown(self, context):
        page = context.get("page")
        return (
            context.get("view") == "edit"
            and page is not None
            and _is(page, (StepEmailPage, SequencePage))
            and self.get_user_page_permissions_tester(context).can_edit()
        )

    def get_url(self, context):
        page = context["page"]
        name = "test_send_step" if _is(page, StepEmailPage) else "test_send_sequence"
        return reverse(f"stepmail_editor:{name}", args=[page.pk])


class BlueprintsMenuItem(MenuItem):
    def is_shown(self, request):
        from wagtail.permission_policies.pages import PagePermissionPolicy

        return PagePermissionPolicy().user_has_permission(request.user, "add")


def blueprints_menu_item() -> MenuItem:
    return BlueprintsMenuItem(
        _("Step mail templates"), reverse("stepmail_editor:blueprints"), icon_name="mail", order=450
    )
