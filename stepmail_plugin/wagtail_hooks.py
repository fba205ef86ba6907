"""Wagtail admin integration (registration only)."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail_modeladmin.options import modeladmin_register

from .admin.modeladmin import StepMailAdminGroup, register_log_actions
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
