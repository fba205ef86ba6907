"""The same content to the same recipients through wagtail-birdsong (the ``bench`` extra).

Birdsong is set up as its README tells a project to: a ``Campaign`` subclass with a StreamField
body, an extended ``Contact`` with names, an MJML template, and its SMTP backend (which sends
through Django's ``EMAIL_BACKEND``: anymail's test backend here, as for the dispatcher). Its
``send_campaign`` renders every recipient's mail (MJML → HTML through django-mjml) and sends them
in a thread; the figure is the time from the call until that thread has finished.
"""

from __future__ import annotations

import importlib.util
import shutil
import threading
from pathlib import Path

from django.conf import settings
from django.core import mail

from . import data
from .measure import rnd, stopwatch


def unavailable() -> str:
    """Why birdsong cannot run here, or ``""``."""
    if not importlib.util.find_spec("birdsong"):
        return 'wagtail-birdsong is not installed (pip install -e ".[bench]")'
    if not importlib.util.find_spec("mjml"):
        return "django-mjml is not installed"
    command = getattr(settings, "MJML_EXEC_CMD", "mjml")
    if not (Path(str(command)).is_file() or shutil.which(str(command))):
        return "the mjml command is missing (npm install --prefix bench mjml@4)"
    return ""


def run(bench) -> None:
    reason = unavailable()
    if reason:
        bench.note(f"birdsong: {reason}")
        return
    from birdsong.backends.smtp import SendCampaignThread, SMTPEmailBackend
    from birdsong.models import CampaignStatus
    from django.test import RequestFactory

    from .birdsong_app.models import BenchCampaign, BenchContact

    # MJML runs one node process per mail: a sample of the recipients is enough for a rate.
    count = 10 if bench.quick else 60
    contacts = [
        BenchContact(email=f"d{n:07d}@example.jp", first_name=data.FIRST_NAMES[n % len(data.FIRST_NAMES)],
                     last_name=data.LAST_NAMES[(n // 3) % len(data.LAST_NAMES)], order_number=f"B-{n:07d}")
        for n in range(count)
    ]
    for contact in contacts:
        contact.save()
    body = [
        ("rich_text", data.PARAGRAPH_1.replace("{{", "").replace("}}", "")),
        ("image", bench.image),
        ("order_summary" if "order_summary" in data.block_names() else "heading",
         None if "order_summary" in data.block_names() else "ご注文内容のご確認"),
        ("rich_text", data.PARAGRAPH_2.replace("{{ first_name }}", "")),
        ("button", {"text": "マイページへ", "url": "https://shop.example.jp/accounts/"}),
        ("products", None),
    ]
    campaign = BenchCampaign.objects.create(name="bench", subject="ご注文ありがとうございます", body=body)
    request = RequestFactory().get("/", HTTP_HOST="localhost")
    backend = SMTPEmailBackend()

    # One mail first: loads templates and checks that the mjml command works.
    mail.outbox = []
    backend.send_campaign(request, campaign, contacts[:1], test_send=True)

    mail.outbox = []
    before = set(threading.enumerate())
    with stopwatch() as timing:
        backend.send_campaign(request, campaign, contacts)
        for thread in set(threading.enumerate()) - before:
            if isinstance(thread, SendCampaignThread):
                thread.join()
    campaign.refresh_from_db()
    sent = len(mail.outbox)
    mail.outbox = []
    if campaign.status != CampaignStatus.SENT or sent != count:
        bench.note(f"birdsong: campaign status {campaign.status}, {sent} of {count} mails sent")
    rate = sent / timing.wall
    bench.results["birdsong_mails_per_s"] = rnd(rate, 2)
    bench.results["birdsong_recipients"] = count
    ours = bench.results.get("dispatch_mails_per_s")
    if ours:
        bench.results["vs_birdsong"] = rnd(ours / rate, 1)
    bench.note(
        f"birdsong: rate over {count} of the recipients (django-mjml's default 'cmd' mode runs the "
        "mjml command once per mail); its rich text has no merge fields, so names and the order "
        "number come from its template and an extended Contact"
    )
