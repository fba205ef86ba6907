"""A chooser for Oscar products in the Wagtail admin (for hand-picked products in mails)."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.chooser import ChooseResultsView, ChooseView
from wagtail.admin.viewsets.chooser import ChooserViewSet


class ProductSearchForm(BaseFilterForm):
    q = forms.CharField(
        label=pgettext_lazy("stepmail", "Search term"),
        widget=forms.TextInput(attrs={"placeholder": _("Title, UPC or code")}),
        required=False,
    )

    def filter(self, objects):
        query = self.cleaned_data.get("q")
        if query:
            self.is_searching = True
            self.search_query = query
            objects = objects.filter(Q(title__icontains=query) | Q(upc__iexact=query) | Q(code__iexact=query))
        return objects


class _ProductListing:
    filter_form_class = ProductSearchForm
    ordering = ["-date_created", "-pk"]

    def get_object_list(self):
        from oscar.core.loading import get_model

        # Shoppers browse parents and stand-alone products: those are what a mail links to.
        return get_model("catalogue", "Product").objects.filter(parent__isnull=True)

    @property
    def columns(self):
        return [
            self.title_column,
            Column("upc", label=_("UPC")),
            Column("is_public", label=_("Public")),
        ]


class ProductChooseView(_ProductListing, ChooseView):
    pass


class ProductChooseResultsView(_ProductListing, ChooseResultsView):
    pass


class ProductChooserViewSet(ChooserViewSet):
    model = "catalogue.Product"
    icon = "tag"
    choose_one_text = _("Choose a product")
    choose_another_text = _("Choose another product")
    edit_item_text = _("Edit product")
    choose_view_class = ProductChooseView
    choose_results_view_class = ProductChooseResultsView
    # Products are edited in Oscar's dashboard, never from the mail editor.
    register_widget = False


product_chooser_viewset = ProductChooserViewSet("stepmail_product_chooser", url_prefix="stepmail/products/choose")
ProductChooserBlock = product_chooser_viewset.get_block_class(
    name="ProductChooserBlock", module_path="stepmail_plugin.editor.choosers"
)
