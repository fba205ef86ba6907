"""Public views reached from mails: one-click unsubscribe (RFC 8058) and the preferences page."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import ConsentStatus, Contact
from .preferences import PreferencesForm, save_preferences, subscription_choices
from .subscriptions import mask_email, unsubscribe_contact
from .tokens import PREFERENCES, UNSUBSCRIBE, make_token, read_token
from .tracking.views import record_unsubscribe


def _invalid(request: HttpRequest, status: int = 400) -> HttpResponse:
    return render(request, "stepmail/invalid_link.html", status=status)


@csrf_exempt  # mail clients POST the one-click body without our cookies; the token authenticates
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirmation (link scanners GET and must change nothing); POST unsubscribes."""
    try:
        payload = read_token(UNSUBSCRIBE, token)
        contact_id = int(payload["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return _invalid(request)
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return _invalid(request, status=404)
    context = {
        "email": mask_email(contact.email),
        "token": token,
        "preferences_url": preferences_url_for(contact),
    }
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        unsubscribe_contact(contact, source="one-click" if one_click else "unsubscribe-page")
        record_unsubscribe(payload.get("d"))
        return render(request, "stepmail/unsubscribed.html", context)
    if contact.unsubscribed_at or contact.consent == ConsentStatus.OPTED_OUT:
        # The link opened again: say it is done rather than ask again.
        return render(request, "stepmail/unsubscribed.html", {**context, "already": True})
    return render(request, "stepmail/unsubscribe.html", context)


def preferences_url_for(contact: Contact) -> str:
    """The (signed) address of ``contact``'s preferences page, made on our side of the link."""
    return reverse("stepmail:preferences", args=[make_token(PREFERENCES, {"c": contact.pk})])


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    """Let a customer choose which marketing sequences they receive, or stop or resume them all."""
    try:
        contact_id = int(read_token(PREFERENCES, token)["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return _invalid(request)
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return _invalid(request, status=404)
    choices = subscription_choices(contact)
    if request.method == "POST":
        form = PreferencesForm(request.POST, choices=choices)
        if not form.is_valid():
            return _invalid(request)
        save_preferences(contact, form.cleaned_data, choices, source="preferences-page")
        # Post/redirect/get: a reload does not post again, and the page shows the saved state.
        return redirect(f"{request.path}?saved=1")
    form = PreferencesForm(choices=choices)
    return render(request, "stepmail/preferences.html", {
        "email": mask_email(contact.email),
        "form": form,
        "saved": request.GET.get("saved") == "1",
        "undeliverable": bool(contact.bounced_at or contact.complained_at),
    })
