#!/usr/bin/env bash
# Run the example shop (django-oscar + Wagtail + stepmail_plugin) with one command.
#
#   ./example.sh              set up, then serve http://127.0.0.1:8000/ with a django-q2 cluster
#   ./example.sh --simulate   set up, then place a demo order and fast-forward 7 days of step mail
#
# Needs only python3 (3.11+; another interpreter with PYTHON=python3.12 ./example.sh). Creates
# .venv in the repository if missing and installs the package with its "example" extra.
# DATABASE_URL and REDIS_URL are passed through (see example_project/README_EXAMPLE.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
MANAGE=("$PY" "$ROOT/example_project/manage.py")
HOST_PORT="127.0.0.1:8000"

usage() {
    sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

SIMULATE=0
case "${1:-}" in
    "") ;;
    --simulate) SIMULATE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac

if [[ -t 1 ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD="" PLAIN=""; fi
step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$PLAIN"; }

# --- 1. virtualenv and packages -------------------------------------------------------------------
if [[ ! -x "$PY" ]]; then
    BASE_PYTHON="${PYTHON:-python3}"
    if ! "$BASE_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "error: $BASE_PYTHON is missing or older than Python 3.11 (set PYTHON=...)" >&2
        exit 1
    fi
    step "Creating $VENV"
    "$BASE_PYTHON" -m venv "$VENV"
fi
# Reinstall only when pyproject.toml changed since the last install (the install is editable, so
# code changes need none); delete .venv/.example-installed to force one.
STAMP="$VENV/.example-installed"
WANT="$(cksum < "$ROOT/pyproject.toml")"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
    step "Installing stepmail-plugin with the [example] extra"
    # -qq: errors only (hides setuptools' editable-install notice).
    "$PY" -m pip install -qq --disable-pip-version-check -e "$ROOT[example]"
    printf '%s\n' "$WANT" > "$STAMP"
fi

# --- 2. database, demo data, schedules ------------------------------------------------------------
step "Migrating the database"
"${MANAGE[@]}" migrate --noinput
step "Loading the demo shop and step-mail sequences"
"${MANAGE[@]}" load_demo
step "Creating the django-q2 schedules"
"${MANAGE[@]}" stepmail_setup

if (( SIMULATE )); then
    step "Simulating a week after a demo order"
    "${MANAGE[@]}" demo_simulate
    exit 0
fi

# --- 3. serve: task cluster in the background, web server in the foreground -----------------------
QCLUSTER_PID=""
stop_cluster() {
    if [[ -z "$QCLUSTER_PID" ]] || ! kill -0 "$QCLUSTER_PID" 2>/dev/null; then
        return 0
    fi
    echo "Stopping the django-q2 cluster (pid $QCLUSTER_PID)"
    kill -TERM "$QCLUSTER_PID" 2>/dev/null || true
    # qcluster normally stops within a second or two; it can hang if its own children were
    # killed first (e.g. a TERM to the whole process group), so do not wait forever.
    for _ in $(seq 1 150); do
        kill -0 "$QCLUSTER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$QCLUSTER_PID" 2>/dev/null; then
        echo "The cluster did not stop within 15 s; killing it" >&2
        kill -KILL "$QCLUSTER_PID" 2>/dev/null || true
    fi
    wait "$QCLUSTER_PID" 2>/dev/null || true
}
SERVER_PID=""
stop_all() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        # runserver's autoreloader serves from a child process: stop it too.
        pkill -TERM -P "$SERVER_PID" 2>/dev/null || true
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    stop_cluster
}
trap stop_all EXIT
# With the EXIT trap, Ctrl-C or a TERM to this script stops the server and the cluster. The
# server runs in the background and the script waits for it: a trap runs only once the
# foreground command returns, so a foreground server would hold a TERM back.
trap 'exit 130' INT
trap 'exit 143' TERM

step "Starting the django-q2 cluster (sends due step mail every minute)"
"${MANAGE[@]}" qcluster &
QCLUSTER_PID=$!

cat <<EOF

  Shop:           http://$HOST_PORT/shop/
  Wagtail admin:  http://$HOST_PORT/cms/        (ページ > ステップメール)
  Django admin:   http://$HOST_PORT/django-admin/
  Login:          admin / admin
  Mail:           printed here and saved in example_project/outbox/*.eml

EOF
step "Starting the web server (Ctrl-C stops both)"
"${MANAGE[@]}" runserver "$HOST_PORT" &
SERVER_PID=$!
wait "$SERVER_PID"
