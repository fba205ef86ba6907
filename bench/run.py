#!/usr/bin/env python
"""stepmail_plugin benchmarks: ``python bench/run.py`` (full) or ``python bench/run.py --quick``.

Builds its own data in a database of its own (``DATABASE_URL``, default ``bench/.bench.sqlite3``;
a PostgreSQL database must have "bench" in its name, since the bench empties it), prints a table,
writes ``artifacts/bench-throughput.svg`` and, as its last line, one JSON object with the figures.
See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
KEYS = [
    "dispatch_mails_per_s",
    "floor_mails_per_s",
    "dispatch_vs_floor",
    "queries_per_mail",
    "order_placed_ms_median",
    "order_placed_queries_1",
    "order_placed_queries_20",
    "idle_tick_ms",
    "idle_tick_enrollments",
    "drain_speedup_2_workers",
    "birdsong_mails_per_s",
    "vs_birdsong",
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 3 minutes (SQLite by default)")
    parser.add_argument("--only", default="", help="comma-separated figures: dispatch,order,idle,drain,birdsong")
    parser.add_argument("--recipients", type=int, default=5000, help="recipients of the dispatch figure")
    parser.add_argument("--batch-size", type=int, default=100, help="dispatcher batch size")
    parser.add_argument("--repeat", type=int, default=None,
                        help="dispatch runs (each with its floor) whose medians are reported; default 3, 1 with --quick")
    parser.add_argument("--profile", default="", help="write a pyinstrument profile of the dispatch run here (.html)")
    parser.add_argument("--out", default=str(ROOT / "artifacts"), help="folder for the chart and the JSON")
    return parser.parse_args(argv)


def setup_environment(args) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["BENCH_SYNCDB"] = "1"
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres") and not os.environ.get("REDIS_URL") and shutil.which("redis-cli"):
        if subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).returncode == 0:
            os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/7"
    mjml_bin = BENCH / "node_modules" / ".bin"
    if mjml_bin.is_dir():
        os.environ["PATH"] = f"{mjml_bin}{os.pathsep}{os.environ.get('PATH', '')}"


def reset_database() -> None:
    """An empty database with every table (created from the models, like --nomigrations)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        connection.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(db["NAME"]) + suffix).unlink(missing_ok=True)
    else:
        if "bench" not in db["NAME"]:
            raise SystemExit(f"Refusing to empty database {db['NAME']!r}: its name must contain 'bench'.")
        create_postgres_database(db["NAME"])
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    # Tables made from the models miss what migrations add besides them: the plugin's indexes on
    # customer addresses (migration 0010), which a migrated shop has.
    from importlib import import_module

    from django.apps import apps

    indexes = import_module("stepmail_plugin.migrations.0010_customer_address_indexes")
    with connection.schema_editor(atomic=False) as editor:
        indexes.create_indexes(apps, editor)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")


def create_postgres_database(name: str) -> None:
    """Create the bench's PostgreSQL database when it does not exist yet (on the server's
    maintenance database, as ``createdb`` does)."""
    from django.db import connection

    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')


def machine() -> dict:
    from django.db import connection

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        version = cursor.fetchone()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "database": f"{connection.vendor} {version}",
    }


def table(bench, info: dict, seconds: float) -> str:
    from bench.figures import TARGETS

    lines = [
        f"stepmail_plugin bench ({'quick' if bench.quick else 'full'}) — {info['cpu']}, {info['cores']} cores, "
        f"Python {info['python']}, {info['database']}, {seconds:.0f} s",
        "",
        f"{'figure':<28} {'value':>12}  {'target':<14}",
        f"{'-' * 28} {'-' * 12}  {'-' * 14}",
    ]
    for key in KEYS:
        value = bench.results.get(key)
        shown = "—" if value is None else (f"{value:,}" if isinstance(value, int) else f"{value:,.3f}".rstrip("0").rstrip("."))
        lines.append(f"{key:<28} {shown:>12}  {TARGETS.get(key, '')}")
    if bench.chart:
        lines += ["", f"{'batch size':>10} {'mails/s':>10} {'queries/mail':>13}"]
        for size, rate, queries in bench.chart:
            lines.append(f"{size:>10} {rate:>10.0f} {queries:>13.3f}")
    if bench.notes:
        lines += ["", "notes:"] + [f"- {n}" for n in bench.notes]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_environment(args)
    import django

    django.setup()
    from bench import chart, figures

    started = time.perf_counter()
    reset_database()
    bench = figures.Bench(quick=args.quick, recipients=args.recipients, batch_size=args.batch_size,
                          profile=args.profile, repeat=max(1, args.repeat or (1 if args.quick else 3)))
    wanted = [w for w in args.only.split(",") if w] or list(figures.FIGURES)
    figures.prepare(bench)
    for name in wanted:
        try:
            figures.FIGURES[name](bench)
        except Exception as error:
            traceback.print_exc()
            bench.note(f"{name}: failed with {type(error).__name__}: {error}")
    info = machine()
    seconds = time.perf_counter() - started
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if bench.chart:
        (out / "bench-throughput.svg").write_text(chart.svg(bench.chart, info))
    print(table(bench, info, seconds), flush=True)
    result = {key: bench.results.get(key) for key in KEYS}
    extra = {k: v for k, v in bench.results.items() if k not in result}
    result.update(extra)
    result["chart"] = [{"batch_size": s, "mails_per_s": round(r, 1), "queries_per_mail": round(q, 3)}
                       for s, r, q in bench.chart]
    result["machine"] = info
    result["mode"] = "quick" if args.quick else "full"
    result["seconds"] = round(seconds, 1)
    missing = missing_figures(bench, wanted)
    for message in missing:
        bench.note(f"ERROR: {message}")
        print(f"bench: ERROR: {message}", file=sys.stderr, flush=True)
    result["notes"] = bench.notes
    line = json.dumps(result, ensure_ascii=False)
    (out / f"bench-{result['mode']}.json").write_text(line + "\n")
    print(line, flush=True)
    return 1 if missing else 0


def missing_figures(bench, wanted: list[str]) -> list[str]:
    """The figures this run could take but did not: each asked-for figure must have all its keys,
    except the drain without PostgreSQL and Redis, and birdsong when it cannot run here (both
    say why in the notes)."""
    from django.db import connection

    from bench import birdsong_compare, figures

    excused: dict[str, str] = {}
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        excused["drain"] = "needs PostgreSQL and Redis"
    reason = birdsong_compare.unavailable()
    if reason:
        excused["birdsong"] = reason
    problems = []
    for name in wanted:
        if name in excused:
            if not any(note.startswith(f"{name}:") for note in bench.notes):
                problems.append(f"{name} could not be taken ({excused[name]}) and no note says why")
            continue
        empty = [key for key in figures.FIGURE_KEYS.get(name, []) if bench.results.get(key) is None]
        if name == "birdsong" and "dispatch" not in wanted and empty == ["vs_birdsong"]:
            empty = []  # the ratio needs the dispatch figure of the same run
        if empty:
            why = "; ".join(n for n in bench.notes if n.startswith(f"{name}:")) or "no reason noted"
            problems.append(f"{name}: {', '.join(empty)} came out null although this run can take it ({why})")
    return problems


if __name__ == "__main__":
    sys.exit(main())
