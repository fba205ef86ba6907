""""View in browser": the web version of a mail, reached through a signed link in the mail.

A delivery's link shows that mail to whoever holds the link (like the mail itself): the step's
live content with the customer's data, the coupon it carried and today's products. A test mail's
link shows the step's latest revision with the editor's sample data.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .models import Delivery, DeliveryStatus, StepEmailPage
from .rendering.batch import Mode, Recipient
from .rendering.single import render_single
from .tokens import WEB_VERSION, read_token


def _invalid(request: HttpRequest, status: int = 400) -> HttpResponse:
    return render(request, "stepmail/invalid_link.html", status=status)


@require_GET
def web_version(request: HttpRequest, token: str) -> HttpResponse:
    try:
        payload = read_token(WEB_VERSION, token)
        if not isinstance(payload, dict):
            raise ValueError
    except (signing.BadSignature, ValueError):
        return _invalid(request)
    if "d" in payload:
        response = _delivery_version(payload["d"])
    elif payload.get("t") and "s" in payload:
        response = _test_version(payload["s"], payload.get("u"))
    else:
        return _invalid(request)
    if response is None:
        return _invalid(request, status=404)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _delivery_version(delivery_id: int) -> HttpResponse | None:
    from django.conf import settings

    delivery = (
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENT)
        .select_related("enrollment__contact", "enrollment__sequence", "step")
        .first()
    )
    if delivery is None or delivery.step is None:
        return None
    enrollment = delivery.enrollment
    contact = enrollment.contact
    recipient = Recipient(
        key=delivery.pk,
        contact=contact,
        enrollment=enrollment,
        delivery=delivery,
        trigger=enrollment.trigger_object if enrollment.object_id else None,
        sequence=enrollment.sequence.specific,
        step=delivery.step,
        language=contact.language or settings.LANGUAGE_CODE,
    )
    try:
        single = render_single(delivery.step, recipient, mode=Mode.WEB)
    except Exception:
        raise Http404 from None
    return HttpResponse(single.mail.html)


def _test_version(step_id: int, user_id: int | None) -> HttpResponse | None:
    from .editor.samples import sample_for

    step = StepEmailPage.objects.filter(pk=step_id).first()
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if step is None or user is None:
        return None
    draft = step.get_latest_revision_as_object()
    sample = sample_for(draft, user)
    try:
        single = render_single(draft, sample.recipient, mode=Mode.TEST)
    except Exception:
        raise Http404 from None
    return HttpResponse(single.mail.html)
