"""Forms of the editor's views: test send and creating a sequence from a blueprint."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


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

    def __init__(self, *args, parents=None, **kwargs):
        from ..models import SequenceIndexPage, SurveyPage, VoucherTemplate

        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents if parents is not None else SequenceIndexPage.objects.all()
        self.fields["voucher_template"].queryset = VoucherTemplate.objects.all()
        self.fields["survey_page"].queryset = SurveyPage.objects.all()
        self.fields["language"].initial = "ja" if settings.LANGUAGE_CODE.startswith("ja") else "en"
