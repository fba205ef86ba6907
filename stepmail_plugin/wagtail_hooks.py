"""Wagtail admin integration (registration only)."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.snippets.models import register_snippet
from wagtail_modeladmin.options import modeladmin_register

from .admin.modeladmin import StepMailAdminGroup, register_log_actions
from .editor import menus
from .editor import urls as editor_urls
from .editor.choosers import product_chooser_viewset
from .editor.hooks import refuse_invalid_steps_in_bulk_publish, warn_after_save
from .editor.mergefields import picker_data_script, register_merge_field_feature
from .editor.ordering import explorer_js, refuse_move_out_of_order, step_page_viewset
from .editor.views import redirect_sequence_copy
from .editor.wagtail_strings import js_catalog_script
from .models import VoucherTemplate
from .reports import urls as report_urls
from .reports.views import StepMailPanel, user_may_see_reports

modeladmin_register(StepMailAdminGroup)
hooks.register("register_log_actions", register_log_actions)


class StepMailReportsMenuItem(MenuItem):
    def is_shown(self, request):
        return user_may_see_reports(request.user)


@hooks.register("register_admin_urls")
def register_report_urls():
    return [path("stepmail/reports/", include(report_urls, namespace="stepmail_reports"))]


@hooks.register("register_reports_menu_item")
def register_reports_menu_item():
    return StepMailReportsMenuItem(
        _("Step mail"), reverse("stepmail_reports:index"), name="stepmail", icon_name="mail", order=650
    )


@hooks.register("construct_homepage_panels")
def add_dashboard_panel(request, panels):
    panels.append(StepMailPanel())


register_snippet(VoucherTemplate)


@hooks.register("register_admin_urls")
def register_editor_urls():
    return [path("stepmail/", include(editor_urls, namespace="stepmail_editor"))]


@hooks.register("register_admin_viewset")
def register_product_chooser():
    return product_chooser_viewset


hooks.register("register_admin_viewset", lambda: step_page_viewset)


hooks.register("register_page_header_buttons", menus.page_header_buttons)
hooks.register("register_page_listing_more_buttons", menus.page_listing_more_buttons)
hooks.register("before_copy_page", redirect_sequence_copy)
hooks.register("register_page_action_menu_item", lambda: menus.TestSendMenuItem(order=60))
hooks.register("register_admin_menu_item", menus.blueprints_menu_item)
hooks.register("after_create_page", warn_after_save)
hooks.register("after_edit_page", warn_after_save)
hooks.register("before_bulk_action", refuse_invalid_steps_in_bulk_publish)
hooks.register("register_rich_text_features", register_merge_field_feature)
hooks.register("insert_editor_js", picker_data_script)
hooks.register("before_move_page", refuse_move_out_of_order)
hooks.register("insert_global_admin_js", explorer_js)
hooks.register("insert_global_admin_js", js_catalog_script)
