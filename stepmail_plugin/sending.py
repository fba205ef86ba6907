"""Building and sending one message through Django's mail API (anymail or any other backend),
and telling transient failures from permanent ones."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass

from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
)
from anymail.message import AnymailMessage
from django.core.mail import get_connection

from .conf import stepmail_settings

#: Anymail statuses meaning the ESP took the message.
ACCEPTED = {"sent", "queued", "unknown"}


@dataclass
class SendOutcome:
    ok: bool
    message_id: str = ""
    esp_status: str = ""
    permanent: bool = False
    reason: str = ""
    error: str = ""


def open_connection():
    """One connection for a whole batch."""
    return get_connection(stepmail_settings.EMAIL_BACKEND, fail_silently=False)


def build_message(
    *,
    subject: str,
    text: str,
    html: str,
    from_email: str,
    to: str,
    headers: dict[str, str],
    tags: list[str],
    metadata: dict[str, str],
    connection=None,
) -> AnymailMessage:
    message = AnymailMessage(
        subject=subject,
        body=text,
        from_email=from_email,
        to=[to],
        headers=headers,
        tags=tags,
        metadata=metadata,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def send(message: AnymailMessage) -> SendOutcome:
    """Send one message; never raises."""
    try:
        sent = message.send()
    except AnymailRecipientsRefused as error:
        return SendOutcome(False, permanent=True, reason="rejected", error=_describe(error))
    except AnymailInvalidAddress as error:
        return SendOutcome(False, permanent=True, reason="invalid_address", error=_describe(error))
    except AnymailConfigurationError as error:
        # A settings mistake: keep the mail and retry once the operator fixes it.
        return SendOutcome(False, reason="configuration", error=_describe(error))
    except AnymailAPIError as error:
        code = getattr(error, "status_code", None)
        permanent = code is not None and 400 <= code < 500 and code not in (408, 409, 425, 429)
        return SendOutcome(False, permanent=permanent, reason=f"esp_{code or 'error'}", error=_describe(error))
    except AnymailError as error:
        return SendOutcome(False, permanent=True, reason="esp_refused", error=_describe(error))
    except smtplib.SMTPRecipientsRefused as error:
        return SendOutcome(False, permanent=True, reason="rejected", error=_describe(error))
    except smtplib.SMTPResponseException as error:
        permanent = 500 <= error.smtp_code < 600
        return SendOutcome(False, permanent=permanent, reason=f"smtp_{error.smtp_code}", error=_describe(error))
    except Exception as error:  # network errors, timeouts, anything unknown: try again later
        return SendOutcome(False, reason="send_error", error=_describe(error))
    status = getattr(message, "anymail_status", None)
    if status is not None and status.status is not None:
        statuses = {str(s) for s in status.status}
        esp_status = ",".join(sorted(statuses))
        message_id = "" if status.message_id is None else str(status.message_id)
        if not statuses & ACCEPTED:
            return SendOutcome(False, message_id, esp_status, permanent=True, reason="rejected",
                               error=f"ESP status: {esp_status}")
        return SendOutcome(True, message_id, esp_status)
    if not sent:
        return SendOutcome(False, reason="not_sent", error="The mail backend sent nothing.")
    # Plain Django backends give no id: use our own Message-ID header.
    return SendOutcome(True, message.extra_headers.get("Message-ID", ""), "sent")


def _describe(error: BaseException) -> str:
    """The error's text for the delivery record; an exception whose ``str()`` fails still gets one."""
    try:
        text = str(error)
    except Exception:
        text = repr(error.args)
    return f"{type(error).__name__}: {text}"[:4000]
