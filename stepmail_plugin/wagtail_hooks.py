"""Wagtail admin integration (registration only)."""

from django.urls import include, path
from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .editor import menus
from .editor import urls as editor_urls
from .editor.choosers import product_chooser_viewset
from .editor.hooks import warn_after_save
from .models import VoucherTemplate

register_snippet(VoucherTemplate)


@hooks.register("register_admin_urls")
def register_editor_urls():
    return [path("stepmail/", include(editor_urls, namespace="stepmail_editor"))]


@hooks.register("register_admin_viewset")
def register_product_chooser():
    return product_chooser_viewset


hooks.register("register_page_header_buttons", menus.page_header_buttons)
hooks.register("register_page_action_menu_item", lambda: menus.TestSendMenuItem(order=60))
hooks.register("register_admin_menu_item", menus.blueprints_menu_item)
hooks.register("after_create_page", warn_after_save)
hooks.register("after_edit_page", warn_after_save)
