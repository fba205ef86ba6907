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
import requests
from anymail.message import AnymailMessage
from django.core.mail import get_connection
from urllib3.exceptions import NewConnectionError

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
    #: The request reached the ESP but no clear answer came back (e.g. a read timeout): it may
    #: have been accepted, so it must not be retried automatically.
    uncertain: bool = False


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
        if _maybe_delivered(error):
            return SendOutcome(False, reason="esp_no_answer", error=_describe(error), uncertain=True)
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


def _maybe_delivered(error: BaseException) -> bool:
    """Whether a failed API call may still have been accepted by the ESP.

    anymail's HTTP backends raise an error that is also the ``requests`` exception. A request
    that timed out while waiting for the answer, or whose connection broke after it was sent,
    may have been processed; one whose connection was never made was not.
    """
    if not isinstance(error, requests.RequestException):
        return False
    if isinstance(error, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    if isinstance(error, (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError)):
        return True
    if isinstance(error, requests.ConnectionError):
        # Refused or unresolvable: nothing was sent. Anything else broke an open connection.
        return not _caused_by(error, NewConnectionError)
    return False


def _caused_by(error: BaseException, kind: type) -> bool:
    seen: set[int] = set()
    stack: list[object] = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen or current is None:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        if isinstance(current, BaseException):
            stack += [current.__cause__, current.__context__, *current.args]
        stack.append(getattr(current, "reason", None))
    return False


def _describe(error: BaseException) -> str:
    """The error's text for the delivery record; an exception whose ``str()`` fails still gets one."""
    try:
        text = str(error)
    except Exception:
        text = repr(error.args)
    return f"{type(error).__name__}: {text}"[:4000]
