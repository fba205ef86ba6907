"""Run a management command of the example store with its clock moved to a given moment.

    python tests/browser/manage_at.py 2026-11-20T10:00:00+09:00 stepmail_dispatch

The browser tests use it to run the real ``stepmail_dispatch`` command days after an order,
when a later step of a sequence is due, without waiting for those days. ``time_machine`` moves
``timezone.now()`` in this process only; the web server keeps the real time.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import time_machine

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> None:
    moment = datetime.fromisoformat(argv[1])
    sys.path.insert(0, str(ROOT / "example_project"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
    from django.core.management import execute_from_command_line

    with time_machine.travel(moment, tick=False):
        execute_from_command_line(["manage.py", *argv[2:]])


if __name__ == "__main__":
    main(sys.argv)
