"""System checks for settings that would make step mail fail or misbehave (``manage.py check``,
and every ``runserver``/``migrate``/``qcluster``). See docs/operations.md."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register

from .conf import stepmail_settings

#: django-q2's defaults for the keys we check.
Q_RETRY_DEFAULT = 60
#: anymail's default timeout for one ESP API call, in seconds.
ESP_TIMEOUT_DEFAULT = 30

DEVELOPMENT_BACKENDS = ("console.EmailBackend", "locmem.EmailBackend", "dummy.EmailBackend", "filebased.EmailBackend")


def _q_cluster() -> dict:
    return getattr(settings, "Q_CLUSTER", {}) or {}


@register()
def check_q_cluster(app_configs, **kwargs):
    errors = []
    q = _q_cluster()
    timeout, retry = q.get("timeout"), q.get("retry", Q_RETRY_DEFAULT)
    if not q.get("sync") and (timeout is None or timeout >= retry):
        errors.append(
            Warning(
                "Q_CLUSTER['timeout'] must be set and below Q_CLUSTER['retry'] "
                f"(timeout={timeout!r}, retry={retry!r}).",
                hint="Otherwise django-q2 redelivers a dispatch task that is still running. "
                "Step mail stays exactly-once, but the ticks pile up; e.g. timeout 60, retry 120.",
                id="stepmail.W001",
            )
        )
    tick = stepmail_settings.TICK_SECONDS
    if timeout is not None and tick >= timeout:
        errors.append(
            Warning(
                "STEPMAIL['TICK_SECONDS'] should be below Q_CLUSTER['timeout'].",
                hint="A tick that outlives the task timeout is killed mid-batch; what it was "
                "sending may end up 'uncertain'.",
                id="stepmail.W002",
            )
        )
    lease = stepmail_settings.LEASE_SECONDS
    if lease < tick + _esp_timeout():
        errors.append(
            Warning(
                "STEPMAIL['LEASE_SECONDS'] is shorter than a tick plus one ESP call "
                f"({lease} < {tick} + {_esp_timeout()}).",
                hint="Other workers would take a running worker's deliveries for abandoned ones "
                "(marking them 'uncertain' for nothing). Keep the default 300 or raise it.",
                id="stepmail.W006",
            )
        )
    return errors


def _esp_timeout() -> float:
    anymail = getattr(settings, "ANYMAIL", {}) or {}
    timeout = anymail.get("REQUESTS_TIMEOUT", getattr(settings, "ANYMAIL_REQUESTS_TIMEOUT", ESP_TIMEOUT_DEFAULT))
    if isinstance(timeout, tuple):  # (connect, read)
        timeout = sum(timeout)
    return float(timeout or 0)


@register()
def check_sender(app_configs, **kwargs):
    sender = stepmail_settings.FROM_EMAIL or getattr(settings, "DEFAULT_FROM_EMAIL", "")
    if not sender or sender.endswith("@localhost") or sender.rstrip(">").endswith("@localhost"):
        return [
            Warning(
                "No sender address for step mail.",
                hint="Set STEPMAIL['FROM_EMAIL'] or DEFAULT_FROM_EMAIL to an address of your domain.",
                id="stepmail.W003",
            )
        ]
    return []


@register()
def check_console_backend(app_configs, **kwargs):
    backend = stepmail_settings.EMAIL_BACKEND or settings.EMAIL_BACKEND
    if not settings.DEBUG and backend.endswith(DEVELOPMENT_BACKENDS):
        return [
            Warning(
                "Step mail goes to a development email backend while DEBUG is off.",
                hint="Configure an ESP through django-anymail (see docs/operations.md).",
                id="stepmail.W004",
            )
        ]
    return []


@register()
def check_webhook_secret(app_configs, **kwargs):
    anymail = getattr(settings, "ANYMAIL", {}) or {}
    secret = anymail.get("WEBHOOK_SECRET") or getattr(settings, "ANYMAIL_WEBHOOK_SECRET", None)
    if not secret:
        return [
            Warning(
                "No webhook secret for the ESP's tracking webhooks.",
                hint="Set ANYMAIL['WEBHOOK_SECRET'] to a random 'user:password' and give the ESP the "
                "webhook URL with it (https://user:password@…/anymail/<esp>/tracking/). Without it "
                "anyone could post fake bounces and unsubscribe your customers (see docs/metrics.md).",
                id="stepmail.W005",
            )
        ]
    return []


@register()
def check_legal_footer(app_configs, **kwargs):
    """Marketing mail must name the sender, their postal address and a contact (特定電子メール法 §4)."""
    from .rendering.brand import missing_legal_details

    try:
        missing = missing_legal_details()
    except Exception:  # no database yet (e.g. before migrate): judge the settings alone
        from .rendering.brand import LEGAL_KEYS

        brand = stepmail_settings.BRAND or {}
        missing = [key for key in LEGAL_KEYS if not str(brand.get(key) or "").strip()]
    if missing:
        return [
            Warning(
                "The legal footer of marketing step mail is incomplete: missing %s." % ", ".join(missing),
                hint="Fill them in the Wagtail admin (Settings → Step mail settings) or STEPMAIL['BRAND']; "
                "特定電子メール法 requires the sender's name, postal address and a contact.",
                id="stepmail.W007",
            )
        ]
    return []

