"""Test sends: a step (or every step of a sequence) to the editor, marked as a test.

Test mails use the steps' latest revisions (drafts included) and the editor's sample data. They
create no delivery, enrollment or coupon, so nothing about them is counted in statistics; they
carry ``X-Stepmail-Test: 1`` and the ``stepmail-test`` tag for the ESP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from ..rendering.batch import Mode
from ..rendering.merge import MergeSyntaxError
from ..rendering.single import render_single, web_version_url_for_test
from ..sending import SendOutcome, build_message, open_connection, send
from .samples import sample_for

TEST_TAG = "stepmail-test"
TEST_HEADER = "X-Stepmail-Test"


@dataclass
class TestSendResult:
    step: Any
    subject: str
    outcome: SendOutcome


def send_tests(steps: list[Any], user: Any, to_email: str, *, sequence: Any = None) -> list[TestSendResult]:
    """Send each step's latest revision to ``to_email``; never raises for one broken step."""
    connection = open_connection()
    results = []
    total = len(steps)
    for position, step in enumerate(steps, start=1):
        draft = step.get_latest_revision_as_object() if step.pk else step
        sample = sample_for(draft, user, sequence=sequence)
        sample.recipient.contact.email = to_email
        try:
            single = render_single(
                draft, sample.recipient, mode=Mode.TEST, web_version_url=web_version_url_for_test(step, user)
            )
        except MergeSyntaxError as error:
            results.append(TestSendResult(step, draft.subject, SendOutcome(False, reason="render_error",
                                                                           error="; ".join(error.messages))))
            continue
        prefix = _("[TEST]") if total == 1 else _("[TEST %(n)d/%(total)d]") % {"n": position, "total": total}
        subject = f"{prefix} {single.mail.subject}"
        headers = {**single.headers, TEST_HEADER: "1"}
        message = build_message(
            subject=subject,
            text=single.mail.text,
            html=single.mail.html,
            from_email=single.from_email,
            to=to_email,
            headers=headers,
            tags=[TEST_TAG],
            metadata={"stepmail_test": "1", "stepmail_step_id": str(step.pk)},
            connection=connection,
        )
        results.append(TestSendResult(step, subject, send(message)))
    return results
