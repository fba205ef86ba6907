"""Public views reached from mails: one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Contact
from .subscriptions import mask_email, unsubscribe_contact
from .tokens import UNSUBSCRIBE, read_token
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
    context = {"email": mask_email(contact.email), "token": token}
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        unsubscribe_contact(contact, source="one-click" if one_click else "unsubscribe-page")
        record_unsubscribe(payload.get("d"))
        return render(request, "stepmail/unsubscribed.html", context)
    return render(request, "stepmail/unsubscribe.html", context)
