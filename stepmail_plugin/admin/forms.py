"""Forms of the operator's views."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from ..models import SequencePage, SuppressionReason, normalize_email
from .actions import IMPORT_REASONS

#: Largest CSV file the import accepts.
MAX_IMPORT_BYTES = 5 * 1024 * 1024
#: Encodings tried in turn: UTF-8 (with or without BOM), then Shift_JIS as Excel writes it in Japan.
IMPORT_ENCODINGS = ("utf-8-sig", "cp932")


class SuppressionForm(WagtailAdminModelForm):
    """Stores the address the way contacts are stored, so suppressions match them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and not self.instance.pk:
            self.initial.setdefault("reason", SuppressionReason.MANUAL)

    def clean_email(self):
        return normalize_email(self.cleaned_data.get("email", ""))

    def save(self, commit=True):
        if not self.instance.source and self.for_user is not None:
            self.instance.source = f"admin:{self.for_user.get_username()}"[:100]
        return super().save(commit=commit)


class SuppressionImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "One email address per line, or a table with a column named “email”. "
            "UTF-8 or Shift_JIS; at most 5 MB."
        ),
    )
    reason = forms.ChoiceField(
        label=_("reason"),
        choices=[(value, SuppressionReason(value).label) for value in IMPORT_REASONS],
        initial=SuppressionReason.UNSUBSCRIBED,
        help_text=_(
            "Every address stops receiving marketing step mail. “Unsubscribed” also records the "
            "opt-out on known contacts and ends their running marketing sequences."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 5 MB; split it and import the parts.")
            )
        data = upload.read()
        for encoding in IMPORT_ENCODINGS:
            try:
                self.cleaned_data["text"] = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise forms.ValidationError(_("The file could not be read as UTF-8 or Shift_JIS text."))
        if "\x00" in self.cleaned_data["text"]:
            raise forms.ValidationError(
                _(
                    "This is not a CSV text file (an Excel workbook?). "
                    "Save it as CSV and upload that."
                )
            )
        return upload


class LiveSequenceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_admin_display_title()


class HandEnrollForm(forms.Form):
    """Who enters which published sequence, when staff enroll someone by hand."""

    sequence = LiveSequenceChoiceField(
        label=_("sequence"),
        queryset=SequencePage.objects.none(),
        help_text=_("Only published sequences are listed. The first mail is due by its delay from now."),
    )
    email = forms.EmailField(
        label=_("email address"),
        max_length=254,
        help_text=_("A known contact, or a new address (a contact is created for it)."),
    )
    first_name = forms.CharField(
        label=_("first name"), max_length=150, required=False,
        help_text=_("For a new address only; a known contact keeps their name."),
    )
    last_name = forms.CharField(label=_("last name"), max_length=150, required=False)
    consent = forms.BooleanField(
        label=_("They agreed to receive these mails"),
        required=False,
        help_text=_(
            "Records the person's opt-in to marketing mail (with your user name as the source). "
            "Needed for marketing sequences unless they opted in before. It never overrides an "
            "unsubscribe."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Evaluated per form, so a sequence published a moment ago is listed.
        self.fields["sequence"].queryset = SequencePage.objects.live().order_by("title", "pk")

    def clean_email(self):
        return normalize_email(self.cleaned_data.get("email", ""))
