"""Fixtures of the fault tests: the recording ESP, worker processes, bulk-made due deliveries and
the counts every test prints (a summary table at the end of the run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from stepmail_plugin.models import (
    ConsentStatus,
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    SequencePage,
)

from ..factories import make_sequence
from .esp import LOG, read_log

ROOT = Path(__file__).resolve().parents[2]
REPORT: list[str] = []

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="several processes writing at once: run on PostgreSQL (DATABASE_URL=postgres://…), the "
    "database stepmail is scaled out on; SQLite serialises writers",
)
server_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a database server that drops a connection: run on PostgreSQL (DATABASE_URL=postgres://…); "
    "SQLite is a file, there is no connection to lose",
)


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.write_sep("=", f"stepmail reliability counts ({connection.vendor})")
        for line in REPORT:
            terminalreporter.write_line(line)


def report(name: str, **counts) -> None:
    """Print a test's counts now (with -s) and in the summary at the end."""
    line = f"{name}: " + ", ".join(f"{k}={v}" for k, v in counts.items())
    REPORT.append(line)
    print(line)


@pytest.fixture
def esp(tmp_path, monkeypatch, settings):
    """The recording ESP for this process (and the environment for worker processes)."""
    log = tmp_path / "esp.log"
    monkeypatch.setenv(LOG, str(log))
    settings.STEPMAIL = {
        **settings.STEPMAIL,
        "EMAIL_BACKEND": "tests.reliability.esp.RecordingEmailBackend",
        "JOURNAL_DIR": str(tmp_path / "journal"),
    }
    return Esp(log, tmp_path)


class Esp:
    def __init__(self, log: Path, tmp_path: Path):
        self.log = log
        self.journal_dir = tmp_path / "journal"

    def lines(self, kind: str = "S") -> list[tuple[str, ...]]:
        return [line for line in read_log(self.log) if line[0] == kind]

    def sent_ids(self) -> Counter:
        """How many times the ESP accepted each delivery."""
        return Counter(int(line[1]) for line in self.lines("S"))

    def counts(self, expected_ids) -> dict[str, int]:
        """sent (distinct deliveries accepted), duplicates (extra copies), lost (expected, never
        accepted), and calls that failed."""
        sent = self.sent_ids()
        expected = set(expected_ids)
        return {
            "sent": len(set(sent) & expected),
            "duplicates": sum(n - 1 for n in sent.values() if n > 1),
            "lost": len(expected - set(sent)),
            "unexpected": len(set(sent) - expected),
            "failed_calls": len(self.lines("F")),
        }


def database_url() -> str:
    """The URL of the database the tests use right now (the test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_env(esp, monkeypatch):
    """Environment for worker processes: this test database, the recording ESP, this journal."""

    def make(overrides: dict | None = None, q_cluster: dict | None = None, **esp_env) -> dict[str, str]:
        env = {**os.environ}
        env.update(
            DATABASE_URL=database_url(),
            DJANGO_SETTINGS_MODULE="tests.reliability.worker_settings",
            PYTHONPATH=str(ROOT),
            STEPMAIL_TEST_OVERRIDES=json.dumps({"JOURNAL_DIR": str(esp.journal_dir), **(overrides or {})}),
            STEPMAIL_TEST_Q_CLUSTER=json.dumps(q_cluster or {}),
        )
        for key, value in esp_env.items():
            env[f"STEPMAIL_TEST_ESP_{key.upper()}"] = str(value)
        return env

    return make


def start_dispatch(env: dict[str, str], *args: str) -> subprocess.Popen:
    """``manage.py stepmail_dispatch`` in its own process (``python -m django`` is manage.py)."""
    return subprocess.Popen(
        [sys.executable, "-m", "django", "stepmail_dispatch", "--json", *args],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int, dict | None, str]:
    """Wait for a worker; returns (exit code, its JSON result if it printed one, stderr)."""
    out, err = process.communicate(timeout=timeout)
    try:
        data = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except ValueError:
        data = None
    return process.returncode, data, err


def make_due(n: int, *, steps: list[dict] | None = None, anchor=None, prefix: str = "r",
             emails: list[str] | None = None, sequence: SequencePage | None = None) -> SequencePage:
    """``n`` contacts enrolled in a real published sequence with their first step due, made with
    bulk_create (the same rows enrollment makes, without n orders)."""
    sequence = sequence or make_sequence(
        f"信頼性 {prefix}", trigger="custom",
        steps=steps or [{"subject": "{{ first_name|default:\"お客様\" }}様へ", "delay": 0}],
    )
    first = sequence.get_steps().first()
    anchor = anchor or timezone.now() - timedelta(minutes=1)
    emails = emails or [f"{prefix}{i}@example.jp" for i in range(n)]
    contacts = Contact.objects.bulk_create(
        [Contact(email=email, first_name=f"名{i}", consent=ConsentStatus.OPTED_IN) for i, email in enumerate(emails)],
        batch_size=2000,
    )
    enrollments = Enrollment.objects.bulk_create(
        [Enrollment(sequence=sequence, contact=c, trigger="custom", anchor_at=anchor) for c in contacts],
        batch_size=2000,
    )
    Delivery.objects.bulk_create(
        [Delivery(enrollment=e, step=first, step_path=first.path, due_at=anchor + first.delay) for e in enrollments],
        batch_size=2000,
    )
    return sequence


def statuses() -> Counter:
    return Counter(Delivery.objects.values_list("status", flat=True))


def delivery_ids(**filters) -> list[int]:
    return list(Delivery.objects.filter(**filters).values_list("pk", flat=True))


SENT = DeliveryStatus.SENT
