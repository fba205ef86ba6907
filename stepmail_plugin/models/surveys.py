"""Survey pages (アンケート): Wagtail form pages that know which customer answered.

A ``survey`` block in a step mail links here with a signed token naming the contact and the
delivery; the answer is stored with both, so answers can be read per customer and per step.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import (
    AbstractForm,
    AbstractFormField,
    AbstractFormSubmission,
)
from wagtail.contrib.forms.panels import FormSubmissionsPanel
from wagtail.fields import RichTextField

from ..tokens import SURVEY, read_token

#: The form field carrying the respondent token from the survey's GET to its POST.
RESPONDENT_FIELD = "stepmail_respondent"


class SurveyFormField(AbstractFormField):
    page = ParentalKey("stepmail.SurveyPage", on_delete=models.CASCADE, related_name="form_fields")


class SurveySubmission(AbstractFormSubmission):
    """An answer, with who gave it when they came from a step mail."""

    contact = models.ForeignKey(
        "stepmail.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_answers",
    )
    delivery = models.ForeignKey(
        "stepmail.Delivery",
        verbose_name=_("from mail"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_answers",
    )
    is_test = models.BooleanField(
        _("test"), default=False, help_text=_("Answered from a test mail or a preview.")
    )

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")

    def get_data(self) -> dict[str, Any]:
        data = super().get_data()
        data["stepmail_contact"] = self.contact.email if self.contact_id else ""
        return data


class SurveyPage(AbstractForm):
    """A questionnaire customers reach from a step mail; answers record who answered."""

    intro = RichTextField(_("introduction"), blank=True)
    thank_you_text = RichTextField(_("thank-you text"), blank=True)
    one_answer_per_contact = models.BooleanField(
        _("one answer per customer"),
        default=True,
        help_text=_("A customer who already answered sees the thank-you text instead of the form."),
    )

    template = "stepmail/survey_page.html"
    landing_page_template = "stepmail/survey_page_landing.html"

    content_panels = AbstractForm.content_panels + [
        FormSubmissionsPanel(),
        FieldPanel("intro"),
        InlinePanel("form_fields", label=_("Questions")),
        FieldPanel("thank_you_text"),
        MultiFieldPanel([FieldPanel("one_answer_per_contact")], heading=_("Answers")),
    ]

    class Meta:
        verbose_name = _("step mail survey")
        verbose_name_plural = _("step mail surveys")

    def get_submission_class(self):
        return SurveySubmission

    def get_data_fields(self):
        return [("stepmail_contact", _("Customer"))] + super().get_data_fields()

    def respondent(self, request) -> dict[str, Any] | None:
        """The signed respondent of this request (from the mail's link), or None."""
        token = request.POST.get(RESPONDENT_FIELD) if request.method == "POST" else request.GET.get("r")
        if not token:
            return None
        try:
            payload = read_token(SURVEY, token)
        except signing.BadSignature:
            return None
        if not isinstance(payload, dict) or payload.get("p") != self.pk:
            return None
        return {**payload, "token": token}

    def serve(self, request, *args, **kwargs):
        self._respondent = self.respondent(request)
        respondent = self._respondent
        if (
            respondent
            and self.one_answer_per_contact
            and respondent.get("c")
            and not respondent.get("t")
            and SurveySubmission.objects.filter(page=self, contact_id=respondent["c"]).exists()
        ):
            return self.render_landing_page(request, None, already_answered=True)
        return super().serve(request, *args, **kwargs)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        respondent = getattr(self, "_respondent", None)
        context["respondent_field"] = RESPONDENT_FIELD
        context["respondent_token"] = respondent["token"] if respondent else ""
        return context

    def render_landing_page(self, request, form_submission=None, *args, already_answered=False, **kwargs):
        response = super().render_landing_page(request, form_submission, *args, **kwargs)
        response.context_data["already_answered"] = already_answered
        return response

    def process_form_submission(self, form):
        from .records import Contact, Delivery

        respondent = getattr(self, "_respondent", None) or {}
        # The token is genuine, but the contact or mail may have been deleted since.
        contact_id = respondent.get("c")
        if contact_id and not Contact.objects.filter(pk=contact_id).exists():
            contact_id = None
        delivery_id = respondent.get("d")
        if delivery_id and not Delivery.objects.filter(pk=delivery_id).exists():
            delivery_id = None
        return SurveySubmission.objects.create(
            form_data=form.cleaned_data,
            page=self,
            contact_id=contact_id,
            delivery_id=delivery_id,
            is_test=bool(respondent.get("t")),
        )
