"""Real-browser tests: headless Chromium, driven by Playwright, against the example store served by
``runserver`` on a free port.

One store per session (``store``): a fresh SQLite database and outbox in a temporary folder,
``migrate``, the demo data (``load_demo``, as ``example.sh`` does), an English-speaking editor and
what ``store_setup.py`` adds (a real order, the block gallery). Mail goes to ``.eml`` files that
the tests read; the dispatcher is the real ``stepmail_dispatch`` command, run as a subprocess
against the same database (with the clock moved forward when a later step must be due).

Run with ``pytest tests/browser`` (excluded from the default run; CI runs it as its own step).
Screenshots go to ``build/screenshots/``; with ``STEPMAIL_DOCS_SCREENSHOTS=1`` the documentation's
pictures in ``docs/img/`` are written too (compact PNGs).
"""

from __future__ import annotations

import email
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "example_project" / "manage.py"
HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("STEPMAIL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = ROOT / "build" / "screenshots"
DOCS_IMG = ROOT / "docs" / "img"
#: The demo's staff logins (demo.accounts) and the English-speaking editor this fixture adds.
ADMIN = ("admin", "admin")
EDITOR_EN = ("editor", "editor-pass-123")


def missing_requirement() -> str:
    """Why the browser tests cannot run here ("" when they can)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed: pip install -e '.[browser]'"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium is not installed at {CHROMIUM}: apt-get install chromium (or set STEPMAIL_CHROMIUM)"
    return ""


def pytest_collection_modifyitems(config, items):
    reason = missing_requirement()
    if not reason:
        return
    ours = [item for item in items if HERE in Path(str(item.fspath)).parents]
    if ours and os.environ.get("CI"):
        raise pytest.UsageError(f"The browser tests must run in CI: {reason}")
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# -- the store -------------------------------------------------------------------------------------

@dataclass
class Mail:
    """One .eml file of the outbox."""

    path: Path
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        # Python's generator folds a long encoded subject after "Subject:", which the parser
        # returns with a leading space; mail clients show it without.
        return str(self.message["Subject"]).strip()

    @property
    def to(self) -> str:
        return str(self.message["To"])

    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""


@dataclass
class Store:
    """The example store of this session: its URL, environment, outbox and prepared ids."""

    url: str
    env: dict
    folder: Path
    outbox: Path
    ids: dict = field(default_factory=dict)

    def run(self, *args: str, at: datetime | None = None) -> str:
        """Run ``manage.py <args>`` (at moment ``at`` if given) against the store; return stdout."""
        if at is None:
            command = [sys.executable, str(MANAGE), *args]
        else:
            command = [sys.executable, str(HERE / "manage_at.py"), at.isoformat(), *args]
        result = subprocess.run(command, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def dispatch(self, at: datetime | None = None) -> str:
        """One tick of the real dispatcher (``manage.py stepmail_dispatch``)."""
        return self.run("stepmail_dispatch", at=at)

    def mails(self, to: str | None = None) -> list[Mail]:
        """The mails written so far (oldest first), optionally only those to ``to``."""
        found = []
        for path in sorted(self.outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            mail = Mail(path, message)
            if to is None or to in mail.to:
                found.append(mail)
        return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"runserver exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"runserver did not answer {url}:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    """A fresh example store served on a free port for the whole session."""
    if missing_requirement():
        pytest.skip(missing_requirement())
    folder = tmp_path_factory.mktemp("store")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        key: value for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        EMAIL_OUTBOX_DIR=str(folder / "outbox"),
        EXAMPLE_MEDIA_ROOT=str(folder / "media"),
        EXAMPLE_BASE_URL=url,
        PYTHONUNBUFFERED="1",
        DJANGO_SUPERUSER_PASSWORD=EDITOR_EN[1],
    )
    store = Store(url=url, env=env, folder=folder, outbox=folder / "outbox")
    store.run("migrate", "--noinput")
    # Before the demo sequences exist, so the editor is not enrolled in the welcome series.
    store.run("createsuperuser", "--noinput", "--username", EDITOR_EN[0], "--email", "editor@example.com")
    store.run("load_demo")
    result = subprocess.run([sys.executable, str(HERE / "store_setup.py")], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"store_setup.py failed:\n{result.stdout}\n{result.stderr}")
    store.ids = json.loads(result.stdout.strip().splitlines()[-1])

    log = folder / "server.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [sys.executable, str(MANAGE), "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(f"{url}/cms/login/", server, log)
        yield store
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- the browser -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _context(browser, store, **kwargs):
    # A Japanese browser (Accept-Language: ja), as the shop's editors and customers use.
    context = browser.new_context(
        base_url=store.url, locale="ja-JP", timezone_id="Asia/Tokyo", viewport=VIEWPORT, **kwargs
    )
    context.set_default_timeout(20_000)
    return context


def log_in(page, username: str, password: str) -> None:
    """Log into the Wagtail admin through its login form."""
    page.goto("/cms/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/cms/")


@pytest.fixture(scope="session")
def admin_state(browser, store, tmp_path_factory) -> str:
    """The admin's logged-in session (cookies), made once through the login form."""
    context = _context(browser, store)
    page = context.new_page()
    log_in(page, *ADMIN)
    path = str(tmp_path_factory.mktemp("auth") / "admin.json")
    context.storage_state(path=path)
    context.close()
    return path


def _keep_failure(request, page) -> None:
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and not page.is_closed():
        folder = SCREENSHOTS / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{request.node.name}.png"), full_page=True)


@pytest.fixture
def page(browser, store, request):
    """A logged-out Japanese browser tab (a customer, or an editor before logging in)."""
    context = _context(browser, store)
    tab = context.new_page()
    yield tab
    _keep_failure(request, tab)
    context.close()


@pytest.fixture
def admin(browser, store, admin_state, request):
    """A browser tab logged into the Wagtail admin as ``admin`` (Japanese)."""
    context = _context(browser, store, storage_state=admin_state)
    tab = context.new_page()
    yield tab
    _keep_failure(request, tab)
    context.close()


# -- screenshots -----------------------------------------------------------------------------------

class Shots:
    """Screenshots of the run (``build/screenshots/``) and, when asked, of the documentation."""

    taken: list[Path] = []

    def __init__(self, docs: bool):
        self.docs = docs
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(self, target, name: str, *, docs: bool = True, full_page: bool = False) -> Path:
        """Screenshot a page or a locator as ``<name>.png``; a docs picture too if enabled."""
        path = SCREENSHOTS / f"{name}.png"
        if hasattr(target, "goto"):
            target.screenshot(path=str(path), full_page=full_page, animations="disabled")
        else:
            target.screenshot(path=str(path), animations="disabled")
        Shots.taken.append(path)
        if self.docs and docs:
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            compact_png(path, DOCS_IMG / f"{name}.png")
        return path


def compact_png(source: Path, target: Path, max_width: int = 1280) -> None:
    """A small PNG for the docs: at most ``max_width`` wide, 256 colours, optimised."""
    from PIL import Image

    with Image.open(source) as image:
        image = image.convert("RGB")
        if image.width > max_width:
            image = image.resize((max_width, round(image.height * max_width / image.width)), Image.LANCZOS)
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            target, format="PNG", optimize=True
        )


@pytest.fixture(scope="session")
def shots():
    return Shots(docs=os.environ.get("STEPMAIL_DOCS_SCREENSHOTS") == "1")


def pytest_terminal_summary(terminalreporter):
    if Shots.taken:
        terminalreporter.write_sep("=", f"browser screenshots ({len(Shots.taken)}, in {SCREENSHOTS})")
        for path in Shots.taken:
            terminalreporter.write_line(str(path.relative_to(ROOT)))
