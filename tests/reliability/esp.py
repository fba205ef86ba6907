"""An ESP for the fault tests: anymail's test backend that writes down, durably and outside any
transaction, every message it accepts, and fails the way real ESPs and real machines fail.

Every process appends to one log file (``O_APPEND``: whole lines, in the order the ESP accepted
them), so duplicates across processes are counted for real. Behaviour is read from environment
variables at call time, so worker processes and in-process tests are configured alike:

``STEPMAIL_TEST_ESP_LOG``         the log file (required)
``STEPMAIL_TEST_ESP_FAIL_RATE``   share of calls answered with a transient error (503/429/refused)
``STEPMAIL_TEST_ESP_SEED``        seed for those failures (default 0; the pid is mixed in)
``STEPMAIL_TEST_ESP_DELAY``       seconds each call takes
``STEPMAIL_TEST_ESP_GATE``        a path: the process's first call waits until that file exists
``STEPMAIL_TEST_ESP_KILL_AFTER``  SIGKILL this process right after the ESP accepted its Nth message
``STEPMAIL_TEST_ESP_DROP_DB_AFTER`` after the Nth accepted message, the database server drops this
                                  process's connections, as a failover would: the worker's own
                                  and its record writer's (PostgreSQL)

Addresses starting with ``poison`` make the ESP raise an error that cannot even be printed;
``invalid-recipient`` ones get an HTTP 400 (a permanent refusal); ``timeout`` ones are accepted
but the answer never arrives (a read timeout, as anymail's HTTP backends raise it).
"""

from __future__ import annotations

import os
import random
import signal
import time
import uuid

import requests
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailAPIError, AnymailRequestsAPIError
from anymail.message import AnymailRecipientStatus

LOG = "STEPMAIL_TEST_ESP_LOG"

_accepted_here = 0
_random: random.Random | None = None


class UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("this error cannot be described")


def _env_float(name: str, default: float = 0.0) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _rng() -> random.Random:
    global _random
    if _random is None:
        _random = random.Random(f"{os.environ.get('STEPMAIL_TEST_ESP_SEED', '0')}-{os.getpid()}")
    return _random


def _append(line: str) -> None:
    fd = os.open(os.environ[LOG], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _now() -> str:
    from django.utils import timezone

    return timezone.now().isoformat()


def _http_error(message, status: int, reason: str) -> AnymailAPIError:
    response = requests.Response()
    response.status_code, response.reason = status, reason
    response._content = b'{"message": "' + reason.encode() + b'"}'
    return AnymailAPIError(f"ESP API response {status}", status_code=status, response=response,
                           email_message=message)


def _drop_database_connection() -> None:
    """Ask the server to terminate this process's connections, as a failover or restart would
    (worker_settings names them after the process)."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    name = params.pop("application_name", None) or f"stepmail-worker-{os.getpid()}"
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE application_name = %s AND pid <> pg_backend_pid()", [name])


class RecordingEmailBackend(AnymailTestBackend):
    def post_to_esp(self, payload, message):
        global _accepted_here
        to = message.to[0]
        delivery_id = message.metadata.get("stepmail_delivery_id", "?")
        delay = _env_float("STEPMAIL_TEST_ESP_DELAY")
        if delay:
            time.sleep(delay)
        gate = os.environ.get("STEPMAIL_TEST_ESP_GATE")
        if gate and _accepted_here == 0:
            _append(f"W\t{delivery_id}\t{to}\t{os.getpid()}\t{_now()}\n")
            while not os.path.exists(gate):  # a call that hangs until the test lets it go
                time.sleep(0.05)
        if to.startswith("poison"):
            raise UnprintableError()
        if to.startswith("invalid-recipient"):
            raise _http_error(message, 400, "Invalid recipient")
        rate = _env_float("STEPMAIL_TEST_ESP_FAIL_RATE")
        if rate and _rng().random() < rate:
            _append(f"F\t{delivery_id}\t{to}\t{os.getpid()}\t{_now()}\n")
            kind = _rng().randrange(3)
            if kind == 0:
                raise _http_error(message, 503, "Service Unavailable")
            if kind == 1:
                raise _http_error(message, 429, "Too Many Requests")
            raise ConnectionRefusedError("Connection refused")
        message.anymail_test_params = payload.get_params()
        # The ESP has the message now: this line is the truth about what was sent.
        _append(f"S\t{delivery_id}\t{to}\t{os.getpid()}\t{_now()}\t{message.subject}\n")
        _accepted_here += 1
        if _accepted_here == int(os.environ.get("STEPMAIL_TEST_ESP_KILL_AFTER") or 0):
            # The worst moment: accepted by the ESP, not yet recorded by us.
            os.kill(os.getpid(), signal.SIGKILL)
        if _accepted_here == int(os.environ.get("STEPMAIL_TEST_ESP_DROP_DB_AFTER") or 0):
            _drop_database_connection()
        if to.startswith("timeout"):
            error_class = type("AnymailRequestsAPIError", (AnymailRequestsAPIError, requests.ReadTimeout), {})
            raise error_class("Error posting to https://esp.example/send:", email_message=message) from (
                requests.ReadTimeout("Read timed out. (read timeout=30)")
            )
        status = AnymailRecipientStatus(message_id=f"rec-{delivery_id}-{uuid.uuid4().hex[:8]}", status="sent")
        return {"recipient_status": {email: status for email in payload.recipient_emails}}


def read_log(path) -> list[tuple[str, ...]]:
    """The log's lines as tuples (kind, delivery id, address, pid, time, subject)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return [tuple(line.rstrip("\n").split("\t")) for line in handle if line.strip()]
    except FileNotFoundError:
        return []
