"""Settings of the worker processes the fault tests start (``python -m django … --settings=…``).

The test database comes in ``DATABASE_URL``; ``STEPMAIL_TEST_OVERRIDES`` (JSON) changes keys of
``STEPMAIL`` and ``STEPMAIL_TEST_Q_CLUSTER`` (JSON) keys of ``Q_CLUSTER``.
"""

import json
import os

from tests.settings import *  # noqa: F401,F403
from tests.settings import DATABASES as _DATABASES
from tests.settings import Q_CLUSTER as _Q_CLUSTER
from tests.settings import STEPMAIL as _STEPMAIL

STEPMAIL = {
    **_STEPMAIL,
    "EMAIL_BACKEND": "tests.reliability.esp.RecordingEmailBackend",
    **json.loads(os.environ.get("STEPMAIL_TEST_OVERRIDES") or "{}"),
}
if _DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Every connection of this worker (its own and its record writer's) named after it, so a
    # test can have the server drop them all (esp.py).
    DATABASES = {**_DATABASES, "default": {**_DATABASES["default"], "OPTIONS": {
        **_DATABASES["default"].get("OPTIONS", {}), "application_name": f"stepmail-worker-{os.getpid()}"}}}
Q_CLUSTER = {
    **_Q_CLUSTER,
    "sync": False,
    **json.loads(os.environ.get("STEPMAIL_TEST_Q_CLUSTER") or "{}"),
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "stepmail_plugin": {"handlers": ["stderr"], "level": "WARNING"},
        "django-q": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
