"""Wagtail preview of a step: the mail as it would go out, with real data from the shop.

Modes: ``html`` (desktop width), ``mobile`` (a phone's width) and ``text`` (the plain-text part).
Each shows the sender, subject and preheader above the mail. The data is the editor's own name
and address with the latest real order (see ``editor/samples.py``), so products, prices,
recommendations and the order summary are real.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.template.loader import render_to_string

from .batch import Mode
from .merge import MergeSyntaxError

#: Width of the preview frame per mode, in CSS pixels.
WIDTHS = {"html": 680, "mobile": 375}


def render_preview(step, request, mode_name: str) -> HttpResponse:
    from ..editor.samples import sample_for
    from ..editor.validation import content_warnings, size_warnings
    from .single import render_single

    sample = sample_for(step, request.user)
    try:
        single = render_single(step, sample.recipient, mode=Mode.PREVIEW)
    except MergeSyntaxError as error:
        html = render_to_string(
            "stepmail/editor/preview_error.html", {"messages": error.messages}, request=request
        )
        return HttpResponse(html)
    if mode_name == "text":
        body = (
            f"From: {single.from_email}\nSubject: {single.mail.subject}\n"
            f"Preheader: {single.mail.preheader}\n\n{single.mail.text}"
        )
        return HttpResponse(body, content_type="text/plain; charset=utf-8")
    warnings = content_warnings(step, rendered_subject=single.mail.subject) + size_warnings(single.html_bytes)
    context = {
        "single": single,
        "sample": sample,
        "warnings": warnings,
        "width": WIDTHS.get(mode_name, WIDTHS["html"]),
        "mode": mode_name,
    }
    return HttpResponse(render_to_string("stepmail/editor/preview_frame.html", context, request=request))
