"""``manage.py check`` warns about settings that make step mail unsafe or unreliable."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from stepmail_plugin import checks

GOOD_Q = {"name": "shop", "orm": "default", "timeout": 60, "retry": 120}
ESP = "anymail.backends.amazon_ses.EmailBackend"


def ids(*functions):
    return sorted(message.id for f in functions for message in f(None))


@pytest.fixture
def production(settings):
    """A correctly configured production site; each test breaks one thing."""
    settings.DEBUG = False
    settings.Q_CLUSTER = dict(GOOD_Q)
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:a-long-random-password"}
    settings.DEFAULT_FROM_EMAIL = "shop@shop.example.jp"
    settings.EMAIL_BACKEND = ESP
    settings.STEPMAIL = {"EMAIL_BACKEND": ESP}
    return settings


ALL = (checks.check_q_cluster, checks.check_sender, checks.check_console_backend, checks.check_webhook_secret)


def test_a_good_configuration_passes(production):
    assert ids(*ALL) == []


@pytest.mark.parametrize("q", [{"timeout": 120, "retry": 120}, {"timeout": 200, "retry": 120}, {"retry": 120},
                               {"timeout": 90}], ids=["equal", "above", "no-timeout", "above-default-retry"])
def test_timeout_must_be_set_and_below_retry(production, q):
    production.Q_CLUSTER = {"name": "shop", "orm": "default", **q}
    assert "stepmail.W001" in ids(checks.check_q_cluster)


def test_a_tick_must_end_before_the_task_timeout(production):
    production.STEPMAIL = {**production.STEPMAIL, "TICK_SECONDS": 60}
    assert ids(checks.check_q_cluster) == ["stepmail.W002"]


def test_the_lease_must_outlast_a_tick_and_an_esp_call(production):
    production.STEPMAIL = {**production.STEPMAIL, "LEASE_SECONDS": 60}
    assert ids(checks.check_q_cluster) == ["stepmail.W006"]
    production.ANYMAIL = {**production.ANYMAIL, "REQUESTS_TIMEOUT": (5, 250)}
    production.STEPMAIL = {**production.STEPMAIL, "LEASE_SECONDS": 300}
    assert ids(checks.check_q_cluster) == ["stepmail.W006"]


@pytest.mark.parametrize("sender", ["", "webmaster@localhost", "Shop <shop@localhost>"])
def test_a_sender_address_is_needed(production, sender):
    production.DEFAULT_FROM_EMAIL = sender
    assert ids(checks.check_sender) == ["stepmail.W003"]
    production.STEPMAIL = {**production.STEPMAIL, "FROM_EMAIL": "ショップ <shop@shop.example.jp>"}
    assert ids(checks.check_sender) == []


@pytest.mark.parametrize("backend", ["console", "locmem", "dummy", "filebased"])
def test_a_development_backend_with_debug_off(production, backend):
    production.STEPMAIL = {}
    production.EMAIL_BACKEND = f"django.core.mail.backends.{backend}.EmailBackend"
    assert ids(checks.check_console_backend) == ["stepmail.W004"]
    production.DEBUG = True
    assert ids(checks.check_console_backend) == []


def test_no_webhook_secret(production):
    production.ANYMAIL = {"AMAZON_SES_CLIENT_PARAMS": {}}
    assert ids(checks.check_webhook_secret) == ["stepmail.W005"]
    production.ANYMAIL_WEBHOOK_SECRET = "user:password"  # anymail's other spelling
    assert ids(checks.check_webhook_secret) == []


def test_manage_py_check_reports_them(production):
    production.DEFAULT_FROM_EMAIL = ""
    production.ANYMAIL = {}
    with pytest.raises(SystemCheckError) as error:
        call_command("check", "--fail-level", "WARNING")
    assert "stepmail.W003" in str(error.value) and "stepmail.W005" in str(error.value)
