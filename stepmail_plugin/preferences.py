"""The customer's preferences page: which marketing sequences reach them, or none at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Contact, Enrollment, SequenceKind, SequencePage, Suppression, SuppressionReason
from .subscriptions import resubscribe_contact, set_sequence_subscription, unsubscribe_contact


@dataclass(frozen=True)
class SequenceChoice:
    sequence_id: int
    label: str
    subscribed: bool


@dataclass(frozen=True)
class SubscriptionChoices:
    marketing: bool
    sequences: list[SequenceChoice]


def subscription_choices(contact: Contact) -> SubscriptionChoices:
    """What the page offers ``contact``: marketing mail as a whole, and each marketing sequence they
    have been in (or stopped). Sequences show their Promote tab title when the editor set one,
    since a page title is often an internal name."""
    stopped = set(
        Suppression.objects.filter(
            email=contact.email, sequence__isnull=False, reason=SuppressionReason.UNSUBSCRIBED
        ).values_list("sequence_id", flat=True)
    )
    enrolled = Enrollment.objects.filter(contact=contact).values("sequence_id")
    sequences = SequencePage.objects.filter(
        Q(pk__in=enrolled) | Q(pk__in=stopped), kind=SequenceKind.MARKETING
    ).values_list("pk", "title", "seo_title")
    choices = sorted(
        (SequenceChoice(pk, seo_title or title, pk not in stopped) for pk, title, seo_title in sequences),
        key=lambda choice: choice.label,
    )
    return SubscriptionChoices(marketing=contact.unsubscribed_at is None, sequences=choices)


class PreferencesForm(forms.Form):
    marketing = forms.BooleanField(
        label=_("Send me emails about offers and recommendations"),
        required=False,
        help_text=_("Emails about your orders reach you either way."),
    )
    sequences = forms.TypedMultipleChoiceField(
        label=_("Emails I receive"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, choices: SubscriptionChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["marketing"].initial = choices.marketing
        self.fields["sequences"].choices = [(c.sequence_id, c.label) for c in choices.sequences]
        self.fields["sequences"].initial = [c.sequence_id for c in choices.sequences if c.subscribed]
        if not choices.sequences:
            del self.fields["sequences"]


def save_preferences(contact: Contact, data: dict, choices: SubscriptionChoices, *, source: str) -> None:
    """Apply the page's answers; only what the customer changed is touched."""
    wanted = set(data.get("sequences") or [])
    for choice in choices.sequences:
        if (choice.sequence_id in wanted) != choice.subscribed:
            set_sequence_subscription(contact, choice.sequence_id, choice.sequence_id in wanted, source=source)
    if data["marketing"] and not choices.marketing:
        resubscribe_contact(contact, source=source)
    elif not data["marketing"] and choices.marketing:
        unsubscribe_contact(contact, source=source)
