from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StepmailConfig(AppConfig):
    name = "stepmail_plugin"
    label = "stepmail"
    verbose_name = _("Step mail")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
        from . import live
        from .commerce import cache as catalogue_cache
        from .editor.wagtail_strings import label_bulk_action_fields
        from .tracking import events as tracking_events
        from .triggers import accounts, browsing, forms, orders

        orders.connect()
        accounts.connect()
        browsing.connect()
        forms.connect()
        live.connect()
        catalogue_cache.connect()
        tracking_events.connect()
        label_bulk_action_fields()
