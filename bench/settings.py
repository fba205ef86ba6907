"""Settings for the benchmarks: the test settings, on a database of their own.

``DATABASE_URL`` selects the database (default: ``bench/.bench.sqlite3``). ``REDIS_URL`` selects
django-q2's Redis broker for the drain figure (the q2 clusters the bench starts read it).
wagtail-birdsong (the ``bench`` extra) is added when it is installed, for the comparison.
"""

import importlib.util
import os
from pathlib import Path

import dj_database_url

from tests.settings import *  # noqa: F401,F403
from tests.settings import INSTALLED_APPS, STEPMAIL

BENCH_DIR = Path(__file__).resolve().parent

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BENCH_DIR / '.bench.sqlite3'}", conn_max_age=600
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}

DEBUG = False
MEDIA_ROOT = str(BENCH_DIR / ".media")
ROOT_URLCONF = "tests.urls"
STEPMAIL = {**STEPMAIL, "TICK_SECONDS": 600, "BATCH_SIZE": int(os.environ.get("BENCH_BATCH_SIZE", "100"))}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "level": "WARNING"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# django-q2: the drain figure runs real clusters on the Redis broker; everything else calls the
# dispatcher in-process.
_redis = os.environ.get("REDIS_URL")
Q_CLUSTER = {
    "name": "stepmail-bench",
    "workers": int(os.environ.get("BENCH_Q_WORKERS", "1")),
    "timeout": 900,
    "retry": 1000,
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "poll": 0.1,
}
if _redis:
    Q_CLUSTER["redis"] = _redis
else:
    Q_CLUSTER["orm"] = "default"

if importlib.util.find_spec("birdsong") and importlib.util.find_spec("mjml"):
    INSTALLED_APPS = [*INSTALLED_APPS, "mjml", "birdsong", "bench.birdsong_app.apps.BirdsongBenchConfig"]
    BIRDSONG_ADMIN_GROUP = False
    MJML_BACKEND_MODE = "cmd"
    MJML_EXEC_CMD = os.environ.get("MJML_EXEC_CMD") or str(BENCH_DIR / "node_modules" / ".bin" / "mjml")
    MJML_CHECK_CMD_ON_STARTUP = False

if os.environ.get("BENCH_SYNCDB"):
    # Tables straight from the models (like pytest --nomigrations): seconds instead of the minute
    # and more that replaying every app's migrations takes. The bench builds its own data.
    class _NoMigrations(dict):
        def __contains__(self, item):
            return True

        def __getitem__(self, item):
            return None

    MIGRATION_MODULES = _NoMigrations()
