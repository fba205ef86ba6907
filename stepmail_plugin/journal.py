"""The send journal: a small file per batch saying which deliveries were handed to the mail
backend and what it answered, so that a worker killed in the middle of a chunk is recovered
exactly instead of leaving the whole chunk ``uncertain``.

Why it exists: the database learns what a chunk did when the chunk is recorded, in one commit per
chunk (a query per mail would cost more than sending). A worker killed between handing messages to
the ESP and that commit leaves every delivery of the chunk in ``sending``, and without more
knowledge each must be treated as "maybe sent". The journal is that knowledge, for two appends per
mail (no fsync, no query):

    H <delivery id>                 about to hand it to the backend
    S <delivery id> <id> <status>   the backend accepted it (message id, ESP status)
    N <delivery id>                 the backend did not take it (a definite failure)
    U <delivery id>                 the answer was ambiguous (e.g. a read timeout)

When may it be believed? Lines written before a process dies are in the kernel's page cache and
survive the process (SIGKILL, the OOM killer, django-q2 terminating a worker on ``timeout``), but
not a crash or reboot of the machine. So a journal is read only

* on the same boot of the same kernel (``/proc/sys/kernel/random/boot_id``), and
* once its writer is gone: the writer holds an exclusive ``flock`` on it, which the kernel
  releases when the process dies, on any host sharing the file system lock.

Anything else (another machine, a reboot, a platform without ``fcntl`` or a boot id, journaling
switched off) falls back to the lease: ``sending`` rows become ``uncertain`` and are never resent
automatically. See docs/guarantees.md.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .conf import stepmail_settings

try:  # POSIX only; elsewhere the journal is off and the lease rules alone apply
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:  # pragma: no cover
    import uuid

logger = logging.getLogger(__name__)

MAGIC = "stepmail-journal 1"
SUFFIX = ".journal"
BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


def boot_id() -> str:
    """An id of the running kernel's boot, or ``""`` where the platform has none."""
    try:
        with open(BOOT_ID_FILE, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def journal_dir() -> Path | None:
    """Where journals live, or None when journaling is off or impossible here.

    The default folder is named after the database, so two projects (or a test database and the
    real one) on one machine never read each other's journals.
    """
    if not stepmail_settings.SEND_JOURNAL or fcntl is None or not boot_id():
        return None
    configured = stepmail_settings.JOURNAL_DIR
    if configured:
        return Path(configured)
    from django.db import router

    from .models import Delivery

    db = _settings_dict(router.db_for_write(Delivery))
    key = "|".join(str(db.get(k) or "") for k in ("ENGINE", "HOST", "PORT", "NAME"))
    return Path(tempfile.gettempdir()) / "stepmail-journal" / hashlib.sha256(key.encode()).hexdigest()[:16]


def _settings_dict(alias: str) -> dict[str, Any]:
    from django.db import connections

    return connections[alias].settings_dict


class Journal:
    """The journal of one batch, held (locked) by the process sending it."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self.fd: int | None = fd

    @classmethod
    def open(cls, token: uuid.UUID) -> Journal | None:
        """A new journal for the batch ``token``; None if journaling is off or the file failed."""
        directory = journal_dir()
        if directory is None:
            return None
        path = directory / f"{token}{SUFFIX}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except OSError:
            logger.warning("stepmail: cannot write the send journal in %s; sending without it", directory,
                           exc_info=True)
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, f"{MAGIC} {boot_id()}\n".encode())
        except OSError:
            logger.warning("stepmail: cannot lock the send journal %s; sending without it", path, exc_info=True)
            _discard(path, fd)
            return None
        return cls(path, fd)

    def handing(self, delivery_id: int) -> bool:
        """Note that ``delivery_id`` is about to be handed over. False: do not send it.

        A journal missing an ``H`` line would later say "never handed" about a mail that was,
        so a failed write destroys the journal; if even that fails, sending must stop.
        """
        if self.fd is None:
            return True
        try:
            os.write(self.fd, b"H %d\n" % delivery_id)
            return True
        except OSError:
            logger.error("stepmail: the send journal %s failed; continuing without it", self.path, exc_info=True)
            return self._invalidate()

    def answered(self, delivery_id: int, outcome: Any) -> None:
        """Note the backend's answer (a ``SendOutcome``)."""
        if self.fd is None:
            return
        if getattr(outcome, "uncertain", False):
            line = b"U %d\n" % delivery_id
        elif outcome.ok:
            line = ("S %d %s %s\n" % (delivery_id, quote(outcome.message_id or "", safe=""),
                                      quote(outcome.esp_status or "", safe=""))).encode()
        else:
            line = b"N %d\n" % delivery_id
        try:
            os.write(self.fd, line)
        except OSError:
            # Without the answer the delivery reads as "handed, no answer": uncertain. Safe.
            logger.error("stepmail: the send journal %s failed", self.path, exc_info=True)

    def close(self, *, done: bool) -> None:
        """Release the journal. ``done``: the batch is recorded, the file has served its purpose.

        Otherwise it stays for recovery, which may start as soon as the lock is released.
        """
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        if done:
            _discard(self.path, fd)
        else:
            os.close(fd)

    def _invalidate(self) -> bool:
        fd, self.fd = self.fd, None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError:
            os.close(fd)
            return False
        os.close(fd)
        return True


def _discard(path: Path, fd: int) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
    os.close(fd)


@dataclass
class Entries:
    """What a journal says, by delivery id."""

    handed: set[int] = field(default_factory=set)
    sent: dict[int, tuple[str, str]] = field(default_factory=dict)
    refused: set[int] = field(default_factory=set)
    ambiguous: set[int] = field(default_factory=set)


def parse(text: str) -> Entries | None:
    """The entries of a journal, or None if its header is not ours or not from this boot."""
    lines = text.split("\n")
    header = lines[0].rsplit(" ", 1)
    if len(header) != 2 or header[0] != MAGIC or not header[1] or header[1] != boot_id():
        return None
    entries = Entries()
    # The last line may be cut short only if the file system lost data: ignore what is not whole.
    for line in lines[1:]:
        parts = line.split(" ")
        try:
            kind, pk = parts[0], int(parts[1])
        except (IndexError, ValueError):
            continue
        if kind == "H":
            entries.handed.add(pk)
        elif kind == "S" and len(parts) == 4:
            entries.sent[pk] = (unquote(parts[2]), unquote(parts[3]))
        elif kind == "N":
            entries.refused.add(pk)
        elif kind == "U":
            entries.ambiguous.add(pk)
    return entries


def recover(result: Any) -> int:
    """Settle the batches of dead workers from their journals; returns how many deliveries.

    For each journal whose writer is gone: a delivery the backend accepted is recorded as sent
    (and its enrollment advanced), one never handed over or refused is released to be sent
    again, one handed over without a clear answer becomes ``uncertain``.
    """
    directory = journal_dir()
    if directory is None:
        return 0
    try:
        names = [n for n in os.listdir(directory) if n.endswith(SUFFIX)]
    except FileNotFoundError:
        return 0
    settled = 0
    for name in names:
        path = directory / name
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue  # gone: recovered or finished meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its writer is alive
            try:
                if os.fstat(fd).st_ino != os.stat(path).st_ino:
                    continue  # another process recovered and removed it meanwhile
            except FileNotFoundError:
                continue
            with os.fdopen(os.dup(fd), encoding="utf-8", errors="replace") as handle:
                text = handle.read()
            entries = parse(text)
            token = name[: -len(SUFFIX)]
            if entries is None:
                logger.warning("stepmail: journal %s is from another boot; its deliveries follow the lease", path)
            else:
                settled += _settle(token, entries, result)
            os.unlink(path)
        finally:
            os.close(fd)
    return settled


def _settle(token: str, entries: Entries, result: Any) -> int:
    import uuid

    from .dispatch import BatchSender, Uncertain, _Release
    from .models import Delivery, DeliveryStatus
    from .sending import SendOutcome

    try:
        token_uuid = uuid.UUID(token)
    except ValueError:
        return 0
    sender = BatchSender(token_uuid, result)
    deliveries = sender.load(statuses=(DeliveryStatus.SENDING, DeliveryStatus.UNCERTAIN))
    outcomes: list[tuple[Any, Any]] = []
    for delivery in deliveries:
        pk = delivery.pk
        if pk in entries.sent:
            message_id, esp_status = entries.sent[pk]
            delivery.to_email = delivery.enrollment.contact.email
            outcomes.append((delivery, SendOutcome(True, message_id, esp_status)))
        elif pk in entries.ambiguous or (pk in entries.handed and pk not in entries.refused):
            outcomes.append((delivery, Uncertain("worker_stopped")))
        else:
            outcomes.append((delivery, _Release()))
    if outcomes:
        sender.record(outcomes)
    requeued = sum(1 for _d, outcome in outcomes if isinstance(outcome, _Release))
    released = Delivery.objects.filter(claim_token=token_uuid, status=DeliveryStatus.CLAIMED).update(
        status=DeliveryStatus.SCHEDULED, claim_token=None, claimed_at=None
    )
    result.released += released + requeued
    if outcomes or released:
        logger.warning(
            "stepmail: recovered batch %s of a stopped worker from its journal: %d sent, %d uncertain, "
            "%d released", token, sum(1 for _d, o in outcomes if isinstance(o, SendOutcome)),
            sum(1 for _d, o in outcomes if isinstance(o, Uncertain)),
            released + requeued,
        )
    return len(outcomes) + released
