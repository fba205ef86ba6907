"""Forms of the editor's views: test send, creating a sequence from a blueprint, copying one."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TestSendForm(forms.Form):
    email = forms.EmailField(
        label=_("Send to"),
        help_text=_("Test mails show your own name with the shop's latest order, and are marked “[TEST]”."),
    )


class BlueprintForm(forms.Form):
    blueprint = forms.CharField(widget=forms.HiddenInput)
    language = forms.ChoiceField(label=_("Language"), choices=[("ja", "日本語"), ("en", "English")])
    parent = forms.ModelChoiceField(label=_("Create in"), queryset=None, empty_label=None)
    voucher_template = forms.ModelChoiceField(
        label=_("Coupon template"), queryset=None, required=False,
        help_text=_("For the coupon blocks; you can also choose it later in each step."),
    )
    survey_page = forms.ModelChoiceField(
        label=_("Survey page"), queryset=None, required=False,
        help_text=_("For the survey blocks; you can also choose it later in each step."),
    )
    form_page = forms.ModelChoiceField(
        label=_("Form page"), queryset=None, required=False,
        help_text=_("The form (built with Wagtail's form builder) whose submitters enter the sequence."),
    )

    def __init__(self, *args, parents=None, **kwargs):
        from wagtail.contrib.forms.utils import get_form_types
        from wagtail.models import Page

        from ..models import SequenceIndexPage, SurveyPage, VoucherTemplate

        super().__init__(*args, **kwargs)
        self.fields["form_page"].queryset = Page.objects.filter(content_type__in=get_form_types()).order_by("path")
        self.fields["form_page"].label_from_instance = lambda page: page.get_admin_display_title()
        self.fields["parent"].queryset = parents if parents is not None else SequenceIndexPage.objects.all()
        self.fields["voucher_template"].queryset = VoucherTemplate.objects.all()
        self.fields["survey_page"].queryset = SurveyPage.objects.all()
        self.fields["language"].initial = "ja" if settings.LANGUAGE_CODE.startswith("ja") else "en"


class CopySequenceForm(forms.Form):
    """The new title and place of a copied sequence."""

    title = forms.CharField(label=_("Title of the copy"), max_length=255)
    slug = forms.SlugField(
        label=pgettext_lazy("stepmail", "Slug"),
        max_length=255,
        required=False,
        allow_unicode=True,
        help_text=_("Leave empty to make one from the title."),
    )
    parent = forms.ModelChoiceField(label=_("Copy into"), queryset=None, empty_label=None)

    def __init__(self, *args, parents=(), **kwargs):
        from wagtail.models import Page

        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Page.objects.filter(pk__in=[p.pk for p in parents]).order_by("path")
        self.fields["parent"].label_from_instance = lambda page: page.get_admin_display_title()

    def clean(self):
        from wagtail.models import Page

        cleaned = super().clean()
        slug, parent = cleaned.get("slug"), cleaned.get("parent")
        if slug and parent is not None and Page.objects.child_of(parent).filter(slug=slug).exists():
            self.add_error("slug", _("This slug is already in use in that folder."))
        return cleaned
