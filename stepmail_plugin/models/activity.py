"""What customers did that may start a sequence later: product views for browse abandonment."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class ProductView(models.Model):
    """The last time a signed-in customer looked at a product (one row per user and product).

    Written from Oscar's ``product_viewed`` signal, at most once per user and product per
    ``BROWSE_DEBOUNCE_SECONDS``; read by the browse-abandonment scan.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    product = models.ForeignKey(
        "catalogue.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    viewed_at = models.DateTimeField(_("last viewed at"), default=now, db_index=True)

    class Meta:
        verbose_name = _("product view")
        verbose_name_plural = _("product views")
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="stepmail_productview_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} viewed {self.product_id}"
