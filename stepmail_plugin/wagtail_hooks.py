"""Wagtail admin integration (registration only)."""

from wagtail import hooks
from wagtail_modeladmin.options import modeladmin_register

from .admin.modeladmin import StepMailAdminGroup, register_log_actions

modeladmin_register(StepMailAdminGroup)
hooks.register("register_log_actions", register_log_actions)
