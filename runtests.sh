#!/usr/bin/env bash
# Installs stepmail_plugin with its test dependencies into .venv and runs the test suite.
# DATABASE_URL=postgres://postgres@127.0.0.1:5432/stepmail ./runtests.sh runs it on PostgreSQL.
# Extra arguments go to pytest (e.g. ./runtests.sh -k unsubscribe).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
# A fresh test database each run unless told otherwise: migrations change as the code does.
exec .venv/bin/python -m pytest --create-db "$@"
