"""Blocks that bring the customer back to the shop's site: the survey (アンケート) link."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError

from ..rendering.batch import Mode
from ..tokens import SURVEY, make_token
from .base import rich_text_merge_errors
from .commerce import PersonalizedStructBlock, _track
from .content import MERGE_HELP, MergeCharBlock, MergeRichTextBlock


class SurveyBlock(PersonalizedStructBlock):
    """A link to a survey page that records which customer answered (a signed token)."""

    page = blocks.PageChooserBlock(
        label=_("Survey page"), page_type="stepmail.SurveyPage", required=False,
        help_text=_("A “step mail survey” page; answers are stored with the customer who gave them."),
    )
    heading = MergeCharBlock(label=_("Heading"), required=False, default=_("Tell us what you think"))
    text = MergeRichTextBlock(label=pgettext_lazy("stepmail", "Text"), required=False, features=["bold", "italic"],
                              help_text=MERGE_HELP)
    button_text = blocks.CharBlock(label=_("Button text"), default=_("Answer the survey"), max_length=80)

    email_template = "stepmail/mail/blocks/survey.html"
    text_template = "stepmail/mail/blocks/survey.txt"

    class Meta:
        icon = "form"
        label = _("Survey link")

    def clean(self, value):
        value = super().clean(value)
        errors = rich_text_merge_errors(value)
        if not self.is_deferred_validation and value.get("page") is None:
            errors["page"] = ValidationError(_("Choose the survey page."))
        if errors:
            raise StructBlockValidationError(block_errors=errors)
        return value

    def prepare_batch(self, value, recipients, batch) -> None:
        page = value.get("page")
        if page is None:
            for recipient in recipients:
                batch.put(value, recipient.key, None)
            return
        url = batch.shared(f"page_url:{page.pk}", lambda b: _absolute(b.base_url, page.get_url()))
        test = batch.mode in (Mode.PREVIEW, Mode.TEST)
        for recipient in recipients:
            payload: dict[str, Any] = {
                "p": page.pk,
                "c": getattr(recipient.contact, "pk", None),
                "d": getattr(recipient.delivery, "pk", None),
            }
            if test:
                payload["t"] = 1
            token = make_token(SURVEY, payload)
            batch.put(value, recipient.key, f"{url}?r={token}" if url else "")

    def email_context(self, value, ctx):
        context = super().email_context(value, ctx)
        url = self.prepared(value, ctx)
        text_html, text_plain = self.rich_text(value, ctx, "text")
        context.update(
            show=bool(url),
            href=_track(url, ctx, "survey") if url else "",
            text_html=text_html,
            text_plain=text_plain,
        )
        return context


def _absolute(base_url: str, url: str | None) -> str:
    if not url:
        return ""
    if url.startswith("/"):
        return base_url.rstrip("/") + url
    return url
