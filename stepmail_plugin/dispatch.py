"""Claim → render → send → record → advance.

Exactly-once rests on the database, not on the task queue:

* A batch is *claimed* by one compare-and-set UPDATE (``scheduled`` → ``claimed`` with a fresh
  claim token), after ``SELECT … FOR UPDATE SKIP LOCKED`` where the database has it, so two workers
  never hold the same delivery.
* Right before a chunk is handed to the mail backend it moves ``claimed`` → ``sending`` under the
  same token (another compare-and-set; from a batch's second chunk on, in the transaction that
  records the chunk before it), and its result is committed together with the next step of each
  enrollment.
* A worker that dies leaves ``claimed`` rows (never handed to the backend: released for others
  after ``LEASE_SECONDS``) or ``sending`` rows. Its send journal (journal.py) tells which of those
  were accepted, refused or never handed over; what it cannot tell (the one message in flight, or
  no journal on this machine) is marked ``uncertain`` and never resent automatically.
* A chunk stops handing messages over well before its lease or the tick's time runs out, so a
  live worker's rows are never taken for a dead one's. See docs/guarantees.md.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connections, router, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac

from . import followups, live
from . import journal as send_journal
from .blocks.base import RenderContext
from .bulk import insert_ignoring_conflicts, insert_ignoring_conflicts_statement, update_fields, update_statement
from .conf import stepmail_settings
from . import rows
from .models import (
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    SequencePage,
    StepEmailPage,
    Suppression,
)
from .gates import SendGate
from .policy import SuppressionIndex
from .record_writer import RecordWriter
from .rendering import brand as brand_module
from .rendering.batch import prepare_deliveries, valid_email
from .rendering.compile import CompiledStep
from .rendering.context import recipient_values, shop_name
from .scheduling import due_at_for
from .sending import SendOutcome, build_message, open_connection, send
from .signals import announce_status_change, delivery_status_changed
from .tokens import UNSUBSCRIBE, make_token
from .tracking.batch import BatchTracking

logger = logging.getLogger(__name__)

FINAL = {DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED}
#: Fields record() may write, in this order, and those prepare() sets on a delivery it renders.
_RECORDED = ("status", "claim_token", "claimed_at", "sent_at", "attempts", "esp_message_id", "esp_status",
             "reason", "error", "due_at", "subject", "to_email", "updated_at", "variant")
_RENDERED = ("subject", "to_email", "variant")
#: States a batch's rows are in while its worker owns them (``uncertain``: a lease expired while
#: it was still sending; its answer still counts).
OURS = (DeliveryStatus.SENDING, DeliveryStatus.UNCERTAIN)
SEND_CHUNK = 50


@dataclass
class TickResult:
    """What one dispatcher tick did."""

    batches: int = 0
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    delayed: int = 0
    retried: int = 0
    lost_claims: int = 0
    released: int = 0
    uncertain: int = 0
    recovered: int = 0
    follow_ups: int = 0
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def as_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in ("batches", "claimed", "sent", "failed", "skipped",
                                               "delayed", "retried", "lost_claims", "released", "uncertain",
                                               "recovered", "follow_ups")}
        data["reasons"] = dict(self.reasons)
        return data


def _db():
    return connections[router.db_for_write(Delivery)]


def recover_leases(now=None) -> tuple[int, int]:
    """Release claims a dead worker never sent; mark what it may have sent as ``uncertain``."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=stepmail_settings.LEASE_SECONDS)
    released = Delivery.objects.filter(status=DeliveryStatus.CLAIMED, claimed_at__lt=cutoff).update(
        status=DeliveryStatus.SCHEDULED, claim_token=None, claimed_at=None
    )
    uncertain = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff).update(
        status=DeliveryStatus.UNCERTAIN, updated_at=now
    )
    if uncertain:
        # Rare (a worker died mid-send): read back what was just marked, to announce it.
        marked = list(Delivery.objects.filter(status=DeliveryStatus.UNCERTAIN, claimed_at__lt=cutoff, updated_at=now))
        transaction.on_commit(lambda: announce_status_change(marked, DeliveryStatus.SENDING), using=_db().alias)
    if released:
        logger.warning("stepmail: released %d deliveries claimed by a worker that stopped", released)
    if uncertain:
        logger.error(
            "stepmail: %d deliveries were being sent when their worker stopped; marked uncertain "
            "(not resent). Review them in the admin.", uncertain
        )
    return released, uncertain


def due_queryset(now):
    return Delivery.objects.filter(
        status=DeliveryStatus.SCHEDULED,
        due_at__lte=now,
        enrollment__status=EnrollmentStatus.ACTIVE,
        enrollment__sequence__live=True,
    )


def claim_batch(token: uuid.UUID, limit: int, now=None) -> int:
    """Claim up to ``limit`` due deliveries for ``token``; returns how many were claimed."""
    now = now or timezone.now()
    db = _db()
    if db.vendor not in ("sqlite", "postgresql"):
        return _claim_batch_orm(db, token, limit, now)
    # Written out (rows.py) on the databases whose SQL is known here: compiling the claim through
    # the ORM cost more than running it. The same statements as _claim_batch_orm's.
    due_ids, claim = _claim_sql(db)
    params = [
        DeliveryStatus.CLAIMED.value,
        Delivery._meta.get_field("claim_token").get_db_prep_save(token, db),
        Delivery._meta.get_field("claimed_at").get_db_prep_save(now, db),
    ]
    due_params = [Delivery._meta.get_field("due_at").get_db_prep_value(now, db), DeliveryStatus.SCHEDULED.value,
                  EnrollmentStatus.ACTIVE.value, True, limit]
    if db.vendor == "postgresql":
        # Lock the rows first, then claim them (see _claim_batch_orm).
        with transaction.atomic(using=db.alias):
            ids = [row[0] for row in rows.fetch(due_ids + " FOR UPDATE OF d SKIP LOCKED", due_params, using=db.alias)]
            if not ids:
                return 0
            with db.cursor() as cursor:
                cursor.execute(f"{claim} IN ({rows.placeholders(ids)}) AND {_claim_status(db)} = %s",
                               [*params, *ids, DeliveryStatus.SCHEDULED.value])
                return cursor.rowcount
    # SQLite: one statement (see _claim_batch_orm).
    with db.cursor() as cursor:
        cursor.execute(f"{claim} IN ({due_ids}) AND {_claim_status(db)} = %s",
                       [*params, *due_params, DeliveryStatus.SCHEDULED.value])
        return cursor.rowcount


def _claim_status(db) -> str:
    return rows.column(Delivery, "status", db)


def _claim_sql(db) -> tuple[str, str]:
    """The due deliveries' ids, oldest first (``SELECT … LIMIT %s``: due_queryset's conditions),
    and the start of the claim ``UPDATE … WHERE id``."""
    from wagtail.models import Page

    c = db
    due_ids = (
        f"SELECT {rows.column(Delivery, 'id', c, 'd')} FROM {rows.table(Delivery, c)} d"
        f" INNER JOIN {rows.table(Enrollment, c)} e"
        f" ON {rows.column(Delivery, 'enrollment', c, 'd')} = {rows.column(Enrollment, 'id', c, 'e')}"
        f" INNER JOIN {rows.table(SequencePage, c)} s"
        f" ON {rows.column(Enrollment, 'sequence', c, 'e')} = {rows.column(SequencePage, SequencePage._meta.pk.name, c, 's')}"
        f" INNER JOIN {rows.table(Page, c)} p"
        f" ON {rows.column(SequencePage, SequencePage._meta.pk.name, c, 's')} = {rows.column(Page, 'id', c, 'p')}"
        f" WHERE {rows.column(Delivery, 'due_at', c, 'd')} <= %s AND {rows.column(Delivery, 'status', c, 'd')} = %s"
        f" AND {rows.column(Enrollment, 'status', c, 'e')} = %s AND {rows.column(Page, 'live', c, 'p')} = %s"
        # Ordered by the index's own column only: with a tie-breaker the database must join and
        # sort every due row before LIMIT (O(backlog) per batch; slow after downtime).
        f" ORDER BY {rows.column(Delivery, 'due_at', c, 'd')} LIMIT %s"
    )
    claim = (
        f"UPDATE {rows.table(Delivery, c)} SET {rows.column(Delivery, 'status', c)} = %s,"
        f" {rows.column(Delivery, 'claim_token', c)} = %s, {rows.column(Delivery, 'claimed_at', c)} = %s"
        f" WHERE {rows.column(Delivery, 'id', c)}"
    )
    return due_ids, claim


def _claim_batch_orm(db, token: uuid.UUID, limit: int, now) -> int:
    """:func:`claim_batch` through the ORM, for other databases."""
    # Ordered by the index's own column only (see _claim_sql).
    due = due_queryset(now).order_by("due_at")
    claim = {"status": DeliveryStatus.CLAIMED, "claim_token": token, "claimed_at": now}
    if db.features.has_select_for_update_skip_locked or not db.features.allow_sliced_subqueries_with_in:
        # Lock the rows first, then claim them. (Not UPDATE … WHERE id IN (SELECT … LIMIT n FOR
        # UPDATE SKIP LOCKED): PostgreSQL may run such a subquery more than once and claim more
        # than n rows.)
        with transaction.atomic(using=db.alias):
            if db.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            ids = list(due.values_list("id", flat=True)[:limit])
            if not ids:
                return 0
            return Delivery.objects.filter(id__in=ids, status=DeliveryStatus.SCHEDULED).update(**claim)
    # SQLite (one writer at a time, no row locks): one statement, UPDATE … WHERE id IN (SELECT …
    # LIMIT n) AND the row is still scheduled — the compare-and-set.
    return Delivery.objects.filter(id__in=due.values("id")[:limit], status=DeliveryStatus.SCHEDULED).update(**claim)


class ClaimedBatch(list):
    """The deliveries :func:`claim_deliveries` claimed. ``suppressions``: the (email, sequence
    id, reason) of the suppressions of their addresses when the claim read them too (None: not
    read; :meth:`BatchSender.load` reads them)."""

    suppressions: list[tuple[str, int | None, str]] | None = None


def claim_deliveries(token: uuid.UUID, limit: int, now=None, *, raw: bool = False) -> Any:
    """Claim up to ``limit`` due deliveries for ``token`` (:func:`claim_batch`) and return them
    as :meth:`BatchSender.load` reads them: with enrollments and contacts, in due order.

    On PostgreSQL one statement does both: the rows are locked (``FOR UPDATE SKIP LOCKED``, in a
    ``MATERIALIZED`` CTE, so it runs once and claims at most ``limit``), claimed by the same
    compare-and-set ``UPDATE`` and read back through ``RETURNING``, joined to their enrollments
    and contacts, and the suppressions of their addresses (a :class:`ClaimedBatch`). Five round
    trips fewer per batch (BEGIN, the select, COMMIT, the read, the suppressions), each of which
    costs more than the database's work when the server shares the machine's cores.

    ``raw`` (PostgreSQL): return the rows as read, a :class:`RawClaim` whose ``build()`` makes
    the batch, so a background thread does only the database's part (:class:`ClaimAhead`).
    """
    now = now or timezone.now()
    db = _db()
    if db.vendor != "postgresql":
        if not claim_batch(token, limit, now):
            return []
        return _claimed_deliveries(token, (DeliveryStatus.CLAIMED,))
    due_ids = _claim_sql(db)[0]
    table, pk, status = rows.table(Delivery, db), rows.column(Delivery, "id", db), _claim_status(db)
    # The claimed rows and their enrollments are found through ``= ANY(ARRAY(…))``: one array,
    # then look-ups by primary key. A join lets the planner read and hash every scheduled
    # delivery or every enrollment when the tables are small enough to look cheap.
    claimed = (
        f"UPDATE {table} SET {status} = %s, {rows.column(Delivery, 'claim_token', db)} = %s,"
        f" {rows.column(Delivery, 'claimed_at', db)} = %s"
        f" WHERE {pk} = ANY(ARRAY(SELECT {pk} FROM due)) AND {status} = %s RETURNING *"
    )
    params = [
        Delivery._meta.get_field("due_at").get_db_prep_value(now, db), DeliveryStatus.SCHEDULED.value,
        EnrollmentStatus.ACTIVE.value, True, limit,
        DeliveryStatus.CLAIMED.value,
        Delivery._meta.get_field("claim_token").get_db_prep_save(token, db),
        Delivery._meta.get_field("claimed_at").get_db_prep_save(now, db),
        DeliveryStatus.SCHEDULED.value,
    ]
    extra = ""
    if router.db_for_read(Suppression) == db.alias:
        # Each row's address's suppressions as JSON text ([[sequence id, reason], …] or NULL):
        # a probe of the email index per row, no round trip of its own.
        extra = (
            f", (SELECT json_agg(json_build_array({rows.column(Suppression, 'sequence', db, 's')},"
            f" {rows.column(Suppression, 'reason', db, 's')}))::text FROM {rows.table(Suppression, db)} s"
            f" WHERE {rows.column(Suppression, 'email', db, 's')} = {rows.column(Contact, 'email', db, 'k')})"
        )
    enrollment = rows.column(Delivery, "enrollment", db)
    claim = RawClaim(_with_enrollments(
        f"WITH due AS MATERIALIZED ({due_ids} FOR UPDATE OF d SKIP LOCKED), claimed AS ({claimed})",
        "claimed",
        f" WHERE {rows.column(Enrollment, 'id', db, 'e')} = ANY(ARRAY(SELECT {enrollment} FROM claimed))",
        params, db.alias, extra=extra, raw=True,
    ), db.alias, bool(extra))
    return claim if raw else claim.build()


class RawClaim:
    """A claim's rows as the database returned them (:func:`claim_deliveries` with ``raw``)."""

    def __init__(self, found: list[Any], using: str, suppressions: bool):
        self.found, self.using, self.suppressions = found, using, suppressions

    def __len__(self) -> int:
        return len(self.found)

    def build(self) -> ClaimedBatch:
        """The claimed deliveries, with their enrollments, contacts and suppressions."""
        found = _build_with_enrollments(self.found, self.using, extra=self.suppressions)
        if not self.suppressions:  # the suppressions live in another database: load() reads them
            return ClaimedBatch(found)
        batch = ClaimedBatch(delivery for delivery, _ in found)
        suppressions: set[tuple[str, int | None, str]] = set()
        for delivery, (text,) in found:
            if text is not None:
                email = delivery.enrollment.contact.email
                suppressions.update((email, sequence_id, reason) for sequence_id, reason in json.loads(text))
        batch.suppressions = list(suppressions)
        return batch


@dataclass
class Tick:
    """What the batches of one tick share: compiled steps, parsed step bodies and the brand.

    Sequences and steps are kept until a page changes (live.py's generation), and compiled steps
    and bodies are keyed by the content loaded, so a step published between two batches goes out
    in its new form from the next one.
    """

    compiled: dict[tuple, Any] = field(default_factory=dict)
    bodies: dict[tuple[int, str], Any] = field(default_factory=dict)
    brand: dict[str, Any] | None = None
    #: A/B variants and promoted winners of the steps seen (tracking.batch.BatchTracking).
    variants: dict[str, Any] = field(default_factory=dict)
    #: Sequences with their steps, by sequence id, loaded at live generation ``pages_stamp``
    #: (BatchSender._load_sequences).
    pages: dict[int, tuple[Any, list[Any]]] = field(default_factory=dict)
    pages_stamp: Any = None
    pages_at: float = 0.0
    #: Writes chunk records in the background (record_writer.py), started on first use.
    writer: RecordWriter | None = None
    #: Size of the next batch to claim in the background while one sends (None: claim in line).
    claim_ahead: int | None = None
    #: The next batch, being claimed in the background (:class:`ClaimAhead`).
    ahead: ClaimAhead | None = None
    #: Last-chunk records still being written in the background, each with its batch's send
    #: journal, closed once the record is in (:meth:`settle`).
    deferred: list[tuple[PendingRecord, Any]] = field(default_factory=list)

    def record_writer(self, connection: Any) -> RecordWriter | None:
        """The tick's :class:`RecordWriter` for ``connection``, or None where records are
        written in line."""
        if not RecordWriter.usable(connection):
            return None
        if self.writer is None or self.writer.alias != connection.alias:
            self.close()
            self.writer = RecordWriter(connection.alias)
        return self.writer

    def start_next_claim(self, connection: Any) -> None:
        """Claim the tick's next batch in the record writer's thread while this one sends, where
        records are written in the background and the tick expects another batch (once per
        batch: later calls do nothing)."""
        if self.claim_ahead is None or self.ahead is not None:
            return
        writer = self.record_writer(connection)
        if writer is not None:
            self.ahead = ClaimAhead(writer, self.claim_ahead)

    def take_ahead(self) -> tuple[uuid.UUID, list[Delivery]] | None:
        """The batch claimed ahead (its token and deliveries), or None if none was (or its claim
        failed: then claim in line)."""
        ahead, self.ahead = self.ahead, None
        return None if ahead is None else ahead.result()

    def defer(self, pending: PendingRecord, journal: Any) -> None:
        """Keep a batch's last record, written in the background, and its send journal: the next
        batch loads meanwhile, and :meth:`settle` collects it before that batch hands anything
        over (or at the tick's end)."""
        self.deferred.append((pending, journal))

    def settle(self) -> None:
        """Wait for the deferred records: announce their deliveries' changes and discard each
        batch's journal once its record is in. A record that failed keeps its journal for
        recovery (the next tick settles its rows from it) and its error is raised, after every
        other deferred record is settled."""
        error: BaseException | None = None
        while self.deferred:
            pending, journal = self.deferred.pop(0)
            try:
                pending.result()
            except BaseException as failed:
                if journal is not None:
                    journal.close(done=False)
                error = error or failed
                continue
            if journal is not None:
                journal.close(done=True)
        if error is not None:
            raise error

    def close(self) -> int:
        """Settle the deferred records, then release what the tick holds beyond its batches: a
        batch claimed ahead and not sent (returns how many deliveries went back to
        ``scheduled``), and the record writer's connection."""
        released = 0
        try:
            self.settle()
        finally:
            try:
                if self.ahead is not None:
                    ahead, self.ahead = self.ahead, None
                    released = ahead.release()
            finally:  # the thread and its connection end with the tick, whatever the release did
                if self.writer is not None:
                    writer, self.writer = self.writer, None
                    writer.close()
        return released


def dispatch_due(*, batch_size: int | None = None, max_seconds: float | None = None) -> TickResult:
    """One scheduler tick: send everything due, batch after batch, until done or out of time."""
    result = TickResult()
    result.recovered = send_journal.recover(result)
    released, uncertain = recover_leases()
    result.released += released
    result.uncertain += uncertain
    batch_size = batch_size or stepmail_settings.BATCH_SIZE
    deadline = time.monotonic() + (max_seconds if max_seconds is not None else stepmail_settings.TICK_SECONDS)
    # Work events left for this tick (exits and attribution of orders): before claiming, so a
    # purchase has ended its sequences before their mails are claimed.
    try:
        result.follow_ups = followups.run_pending(deadline=deadline)
    except Exception:  # their work can wait for the next tick; mail due now cannot
        logger.exception("stepmail: follow-up work failed; sending anyway")
    tick = Tick()  # shared by the tick's batches
    try:
        while time.monotonic() < deadline:
            ahead = tick.take_ahead()
            if ahead is not None:
                token, claimed = ahead
            else:
                # The last batch's record first: the next steps it schedules that are due at once
                # (a step without delay) go out in this tick.
                tick.settle()
                token = uuid.uuid4()
                claimed = claim_deliveries(token, batch_size)
            if not claimed:
                break
            result.batches += 1
            result.claimed += len(claimed)
            # A full batch: more is probably due, so the next one is claimed while this one sends.
            tick.claim_ahead = batch_size if len(claimed) >= batch_size else None
            BatchSender(token, result, deadline=deadline, tick=tick).run(claimed)
    finally:
        result.released += tick.close()
    return result


class ClaimAhead:
    """The next batch of a tick, claimed by :func:`claim_deliveries` in the record writer's
    thread (its own connection) while the current batch renders and sends, so the worker does
    not wait for the claim's round trip between batches.

    The rows are only ``claimed``: nothing of them is handed over before their own batch moves
    them to ``sending``. A batch claimed ahead that the tick does not send (out of time, or
    stopped by an error) is released at once by :meth:`release`, not left for its lease to
    expire.
    """

    def __init__(self, writer: RecordWriter, limit: int):
        self.token = uuid.uuid4()
        # The thread only claims and reads the rows; they are turned into deliveries in the
        # worker's thread (result()), so the thread needs the interpreter only briefly while
        # the worker renders, and its claim is not held up waiting for it.
        self.future: Future = writer.submit(lambda: claim_deliveries(self.token, limit, raw=True))

    def result(self) -> tuple[uuid.UUID, list[Delivery]] | None:
        """The token and deliveries claimed, or None if the claim failed (logged; whatever it
        may have claimed is released)."""
        try:
            claimed = self.future.result()
            return self.token, claimed.build() if isinstance(claimed, RawClaim) else claimed
        except Exception:
            logger.exception("stepmail: claiming the next batch in the background failed; claiming again")
            self.release()
            return None

    def release(self) -> int:
        """Put what this claim took back to ``scheduled``; returns how many rows."""
        try:
            self.future.result()
        except Exception:  # failed: released below all the same, in case its rows were claimed
            pass
        return _release_claimed(self.token)


def _claimed_deliveries(token: uuid.UUID, statuses) -> list[Delivery]:
    """The deliveries of a claim with their enrollments and contacts (``select_related``), in
    due order: one query, written out and turned into instances without the ORM's per-query and
    per-field overhead (rows.py), which was a fifth of a batch's preparation."""
    using = router.db_for_read(Delivery)
    c = connections[using]
    statuses = [str(s) for s in statuses]
    return _with_enrollments(
        "", rows.table(Delivery, c),
        f" WHERE {rows.column(Delivery, 'claim_token', c, 'd')} = %s"
        f" AND {rows.column(Delivery, 'status', c, 'd')} IN ({rows.placeholders(statuses)})",
        [Delivery._meta.get_field("claim_token").get_db_prep_value(token, c), *statuses],
        using,
    )


def _with_enrollments(prefix: str, source: str, where: str, params: list[Any], using: str, *,
                      extra: str = "", raw: bool = False) -> Any:
    """``{prefix} SELECT`` the deliveries of ``source`` (a table, or a name ``prefix`` defines)
    ``{where}``, with their enrollments and contacts cached on them, ordered by due time.

    ``extra``: more select expressions (``, expr, …``, over ``d``, ``e`` and ``k``); each row is
    then (the delivery, a tuple of their values). ``raw``: return the rows as the driver read
    them, for :func:`_build_with_enrollments` to turn into deliveries later."""
    c = connections[using]
    d_columns, _d_fields = rows.select_list(Delivery, c, "d")
    e_columns, _e_fields = rows.select_list(Enrollment, c, "e")
    k_columns, _k_fields = rows.select_list(Contact, c, "k")
    found = rows.fetch_raw(
        f"{prefix} SELECT {d_columns}, {e_columns}, {k_columns}{extra} FROM {source} d"
        f" INNER JOIN {rows.table(Enrollment, c)} e"
        f" ON {rows.column(Delivery, 'enrollment', c, 'd')} = {rows.column(Enrollment, 'id', c, 'e')}"
        f" INNER JOIN {rows.table(Contact, c)} k"
        f" ON {rows.column(Enrollment, 'contact', c, 'e')} = {rows.column(Contact, 'id', c, 'k')}"
        f"{where}"
        f" ORDER BY {rows.column(Delivery, 'due_at', c, 'd')}, {rows.column(Delivery, 'id', c, 'd')}",
        params,
        using=using,
    )
    return found if raw else _build_with_enrollments(found, using, extra=bool(extra))


def _build_with_enrollments(found: list[Any], using: str, *, extra: bool = False) -> list[Any]:
    """:func:`_with_enrollments`'s deliveries from the rows it read."""
    c = connections[using]
    d_fields = list(Delivery._meta.concrete_fields)
    e_fields = list(Enrollment._meta.concrete_fields)
    k_fields = list(Contact._meta.concrete_fields)
    found = rows.convert(found, rows.converters_for(d_fields + e_fields + k_fields, c))
    make_delivery = rows.builder(Delivery, using)
    make_enrollment = rows.builder(Enrollment, using)
    make_contact = rows.builder(Contact, using)
    to_enrollment = Delivery._meta.get_field("enrollment")
    to_contact = Enrollment._meta.get_field("contact")
    d, e, k = len(d_fields), len(d_fields) + len(e_fields), len(d_fields) + len(e_fields) + len(k_fields)
    deliveries = []
    for row in found:
        delivery, enrollment = make_delivery(row[:d]), make_enrollment(row[d:e])
        to_contact.set_cached_value(enrollment, make_contact(row[e:k]))
        to_enrollment.set_cached_value(delivery, enrollment)
        deliveries.append((delivery, row[k:]) if extra else delivery)
    return deliveries


def _objects(model: Any, ids: set[str]) -> list[Any]:
    """The trigger objects of one model by their ids (strings): written out and built like
    :func:`_claimed_deliveries` for a model on a table of its own, through the ORM otherwise
    (inherited and proxy models). Ids that are not valid for the model are left out."""
    pk = model._meta.pk
    values = []
    for value in ids:
        try:
            values.append(pk.to_python(value))
        except ValidationError:
            logger.warning("stepmail: %r is not an id of %s", value, model._meta.label)
    if not values:
        return []
    if model._meta.parents or model._meta.proxy:
        return list(model._base_manager.filter(pk__in=values))
    using = router.db_for_read(model)
    c = connections[using]
    columns, fields = rows.select_list(model, c, "t")
    make = rows.builder(model, using)
    where, params = rows.among(rows.column(model, pk.name, c, "t"), [pk.get_db_prep_value(v, c) for v in values], pk, c)
    found = rows.fetch(
        f"SELECT {columns} FROM {rows.table(model, c)} t WHERE {where}",
        params,
        rows.converters_for(fields, c),
        using=using,
    )
    return [make(row) for row in found]


class BatchSender:
    """Sends one claimed batch. Every query here is per batch or per chunk, never per mail."""

    def __init__(self, token: uuid.UUID, result: TickResult, compiled: dict | None = None,
                 deadline: float | None = None, tick: Tick | None = None):
        self.token = token
        self.result = result
        self.tick = tick or Tick()
        if compiled is not None:
            self.tick.compiled = compiled
        self.compiled: dict[tuple, CompiledStep | Exception] = self.tick.compiled
        self.content_keys: dict[int, str] = {}
        # time.monotonic() after which no more messages are handed over (the rest is released).
        self.deadline = deadline
        self.journal: send_journal.Journal | None = None
        # Per (step, sequence, language, variant): see _step_plan.
        self._plans: dict[tuple, tuple] = {}

    # -- loading -----------------------------------------------------------------------------
    def load(self, statuses=(DeliveryStatus.CLAIMED,), claimed: list[Delivery] | None = None) -> list[Delivery]:
        """Load the batch's deliveries in ``statuses`` and what sending them needs. ``claimed``:
        the deliveries as :func:`claim_deliveries` returned them (not read again)."""
        deliveries = claimed if claimed is not None else _claimed_deliveries(self.token, statuses)
        enrollments = [d.enrollment for d in deliveries]
        self.sequences = self._load_sequences({e.sequence_id for e in enrollments})
        self.steps, self.following = self._load_steps({d.step_id for d in deliveries if d.step_id})
        self._share_bodies()
        # Read by the claim on PostgreSQL (ClaimedBatch), else here.
        self.suppressions = SuppressionIndex((e.contact.email for e in enrollments),
                                             rows=getattr(claimed, "suppressions", None))
        self.objects = self._load_objects(enrollments)
        for enrollment in enrollments:  # due_at_for reads it: no query per mail
            enrollment.sequence = self.sequences[enrollment.sequence_id]
        if self.tick.brand is None:  # once per tick: brand settings rarely change mid-tick
            base_url = brand_module.base_url()
            site_settings = brand_module.site_settings()
            brand = brand_module.brand(site_settings, link_base=base_url)
            from_email = brand_module.from_email(brand)
            # reverse() once: each recipient's unsubscribe URL is this prefix, a token, this suffix.
            prefix, _, suffix = reverse("stepmail:unsubscribe", args=["TOKEN"]).rpartition("TOKEN")
            self.tick.brand = {
                "base_url": base_url,
                "brand": brand,
                "from_email": from_email,
                "reply_to": brand_module.reply_to(brand),
                "domain": from_email.rsplit("@", 1)[-1].strip("> ") or "localhost",
                "unsubscribe_url": (base_url + prefix, suffix),
                "caps": brand_module.frequency_caps(site_settings),
            }
        shared = self.tick.brand
        self.gate = SendGate(deliveries, self.sequences, self.steps, self.objects, caps=shared["caps"])
        self.base_url = shared["base_url"]
        self.brand = shared["brand"]
        self.from_email = shared["from_email"]
        self.reply_to = shared["reply_to"]
        self.domain = shared["domain"]
        self.unsubscribe_url = shared["unsubscribe_url"]
        self.tracking = BatchTracking(self.steps, self.base_url, known=self.tick.variants)
        # Personalised blocks load their data for the whole batch (rendering/batch.py).
        self.prepared = prepare_deliveries(self, deliveries)
        return deliveries

    def _share_bodies(self) -> None:
        """Give each step the body parsed by an earlier batch of the tick when its content is the
        same: no queries for its images and pages, and personalised blocks keep one identity
        between the batch's preparation and the compiled step that renders them."""
        for step in self.steps.values():
            content = self.content_keys[step.pk] = json.dumps(
                [step.subject, step.preheader, list(step.body.raw_data)], sort_keys=True, default=str
            )
            body = self.tick.bodies.setdefault((step.pk, content), step.body)
            if body is not step.body:
                step.__dict__["body"] = body  # what StreamField's descriptor would store

    def _load_objects(self, enrollments: list[Enrollment]) -> dict[tuple[int, str], Any]:
        wanted: dict[int, set[str]] = defaultdict(set)
        for e in enrollments:
            if e.object_type_id and e.object_id:
                wanted[e.object_type_id].add(e.object_id)
        found: dict[tuple[int, str], Any] = {}
        for type_id, ids in wanted.items():
            model = ContentType.objects.get_for_id(type_id).model_class()
            if model is None:
                continue
            for obj in _objects(model, ids):
                found[(type_id, str(obj.pk))] = obj
        return found

    def _load_sequences(self, wanted: set[int]) -> dict[int, SequencePage]:
        """The batch's sequences, each with all its steps (``tick.pages``).

        Kept for the next batches of the tick as long as the live-sequence generation (live.py)
        stays the same: saving, publishing, unpublishing, moving or deleting a sequence or step
        page changes it, so such a change shows from the next batch on (in other processes with
        a per-process cache: from the next tick, at most ``LIVE_CACHE_SECONDS`` later). Inside a
        transaction, or with that cache off, they are loaded for every batch.
        """
        tick = self.tick
        stamp = live.stamp()
        now = time.monotonic()
        if stamp is None or stamp != tick.pages_stamp or now - tick.pages_at >= stepmail_settings.LIVE_CACHE_SECONDS:
            tick.pages = {}
            tick.pages_stamp = stamp
            tick.pages_at = now
        pages = tick.pages if stamp is not None else {}
        missing = wanted - set(pages)
        if missing:
            loaded = SequencePage.objects.in_bulk(missing)
            steps = self._steps_of(loaded)
            for pk, sequence in loaded.items():
                pages[pk] = (sequence, steps.get(pk, []))
        self.following = {pk: pages[pk][1] for pk in wanted if pk in pages}
        return {pk: pages[pk][0] for pk in wanted if pk in pages}

    @staticmethod
    def _steps_of(sequences: dict[int, SequencePage]) -> dict[int, list[StepEmailPage]]:
        """Every step of these sequences in tree order: one query."""
        steps: dict[int, list[StepEmailPage]] = defaultdict(list)
        if sequences:
            condition = Q()
            for sequence in sequences.values():
                condition |= Q(path__startswith=sequence.path, depth=sequence.depth + 1)
            by_path = {s.path: s.pk for s in sequences.values()}
            for step in StepEmailPage.objects.filter(condition).order_by("path"):
                sequence_id = by_path.get(step.path[: -StepEmailPage.steplen])
                if sequence_id is not None:
                    steps[sequence_id].append(step)
        return steps

    def _load_steps(self, wanted: set[int]) -> tuple[dict[int, StepEmailPage], dict[int, list[StepEmailPage]]]:
        """The batch's steps, and every step of the batch's sequences in tree order (for the
        next step of each enrollment), the batch's steps being among the latter (loaded with
        the sequences, :meth:`_load_sequences`)."""
        found = {step.pk: step for steps in self.following.values() for step in steps}
        missing = wanted - set(found)
        if missing:  # deleted, or moved out of its sequence
            found.update(StepEmailPage.objects.in_bulk(missing))
        return {pk: found[pk] for pk in wanted if pk in found}, self.following

    # -- deciding and rendering --------------------------------------------------------------
    @cached_property
    def default_language(self) -> str:
        return settings.LANGUAGE_CODE

    @cached_property
    def shop_name(self) -> str:
        """The shop's name, read once per batch (a merge value of every mail): the one the
        layout shows (brand settings first)."""
        return self.brand.get("shop_name") or shop_name()

    def compiled_step(self, step: StepEmailPage, language: str, is_marketing: bool, variant=None, sequence=None):
        # Keyed by the content as loaded for this batch (_share_bodies), so a step published
        # between two batches of one tick is compiled again.
        content = self.content_keys[step.pk]
        key = (step.pk, language, is_marketing, content, variant.pk if variant is not None else None)
        if key not in self.compiled:
            try:
                ctx = RenderContext(base_url=self.base_url, language=language, brand=self.brand)
                links = self.tracking.links_for(step, variant, sequence)
                compiled = CompiledStep(self.tracking.content(step, variant), ctx, is_marketing=is_marketing,
                                        links=links)
                compiled.link_set_id = self.tracking.save_links(step, links)
                self.compiled[key] = compiled
            except Exception as error:  # broken editor content: recorded on each delivery
                logger.exception("stepmail: step %s could not be compiled", step.pk)
                self.compiled[key] = error
        return self.compiled[key]

    def _step_plan(self, step: StepEmailPage, sequence: SequencePage, language: str, variant) -> tuple:
        """What every mail of one step, language and variant of this batch shares: the compiled
        step (or the error compiling it) and the mail's tags."""
        # By identity: the batch holds its steps and sequences (and a variant, by pk).
        key = (id(step), id(sequence), language, variant)
        plan = self._plans.get(key)
        if plan is None:
            compiled = self.compiled_step(step, language, sequence.is_marketing, variant, sequence)
            plan = self._plans[key] = (compiled, (f"stepmail-sequence-{sequence.pk}", f"stepmail-step-{step.pk}"))
        return plan

    def prepare(self, delivery: Delivery):
        """A message to send, or an outcome decided without sending."""
        enrollment = delivery.enrollment
        contact = enrollment.contact
        sequence_id = enrollment.sequence_id
        sequence = self.sequences.get(sequence_id)
        step_id = delivery.step_id
        step = self.steps.get(step_id) if step_id else None
        status = enrollment.status
        if status == EnrollmentStatus.PAUSED:
            return _Release()  # paused after the claim: keep the step for when it resumes
        if status != EnrollmentStatus.ACTIVE:
            return _Skip(f"enrollment_{status}")
        if step is None:
            return _Skip("step_deleted")
        if not step.live:
            return _Skip("step_unpublished")
        is_marketing = sequence.is_marketing
        reason = self.suppressions.reason(contact, sequence_id, is_marketing)
        if reason:
            return _Skip(str(reason), exit_enrollment=True)
        email = contact.email
        if not valid_email(email):
            return SendOutcome(False, permanent=True, reason="invalid_address",
                               error=f"Invalid address: {email!r}")
        variant = self.tracking.variant_for(delivery, step)
        later = self.tracking.send_later(delivery, step, variant)
        if later is not None:  # an A/B timing variant: not yet
            return _Defer(later)
        # Exits, conditions, staleness, send window, frequency cap (gates.py; batch-loaded).
        obj = self.objects.get((enrollment.object_type_id, enrollment.object_id))
        decision = self.gate.decide(delivery, sequence, step, obj, enrollment=enrollment, contact=contact)
        if decision is not None:
            if decision.is_delay:
                return _Delay(decision.until, decision.reason)
            return _Skip(decision.reason, exit_enrollment=decision.exit_enrollment)
        language = contact.language or self.default_language
        compiled, tags = self._step_plan(step, sequence, language, variant)
        if isinstance(compiled, Exception):
            return SendOutcome(False, reason="render_error", error=f"{type(compiled).__name__}: {compiled}")
        delivery_id = delivery.id
        try:
            # The contact's language is made active once for the whole mail (merge values and
            # personalised blocks), and only when it is not already (the usual case in a batch).
            if translation.get_language() == language:
                values, mail = self._render(compiled, delivery, delivery_id, enrollment, contact, obj, language,
                                            is_marketing)
            else:
                with translation.override(language):
                    values, mail = self._render(compiled, delivery, delivery_id, enrollment, contact, obj, language,
                                                is_marketing)
            headers = {"Message-ID": message_id(delivery, self.domain)}
            if self.reply_to:
                headers["Reply-To"] = self.reply_to
            if is_marketing:
                headers["List-Unsubscribe"] = f"<{values['unsubscribe_url']}>"
                headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        except Exception as error:
            logger.exception("stepmail: delivery %s could not be rendered", delivery_id)
            return SendOutcome(False, reason="render_error", error=f"{type(error).__name__}: {error}")
        subject = mail.subject
        delivery.subject = subject[:255]
        delivery.to_email = email
        if variant is not None or delivery.variant_id is not None:
            delivery.variant = variant
        return build_message(
            subject=subject,
            text=mail.text,
            html=mail.html,
            from_email=self.from_email,
            to=email,
            headers=headers,
            tags=list(tags),
            metadata={"stepmail_delivery_id": str(delivery_id)},
            connection=self.connection,
        )

    def _render(self, compiled: CompiledStep, delivery: Delivery, delivery_id: int, enrollment: Enrollment,
                contact: Contact, obj: Any, language: str, is_marketing: bool) -> tuple[dict[str, str], Any]:
        """One recipient's merge values and mail, with ``language`` active."""
        values = recipient_values(contact, enrollment, obj, language, shop=self.shop_name, language_active=True,
                                  zone=self.prepared.active_zone)
        values["web_version_url"] = self.prepared.web_version_url(delivery_id)
        if is_marketing:
            values["unsubscribe_url"] = make_token(UNSUBSCRIBE, {"c": contact.id, "d": delivery_id}).join(
                self.unsubscribe_url
            )
        tracking = self.tracking.recipient_values(delivery, compiled.link_set_id)
        if tracking:
            values.update(tracking)
        # Only personalised blocks read the render context: none is made for other steps.
        recipient_ctx = RenderContext(
            base_url=self.base_url, language=language, brand=self.brand, recipient=values,
            # recipient_key: the key prepare_deliveries gave this mail (its delivery's pk), so
            # each block finds its data without reading it off the delivery again.
            objects={"trigger": obj, "enrollment": enrollment, "contact": contact, "delivery": delivery,
                     "batch": self.prepared, "recipient_key": delivery_id},
        ) if compiled.personalized else None
        return values, compiled.render(values, recipient_ctx, language_active=True)

    # -- the run -----------------------------------------------------------------------------
    def run(self, claimed: list[Delivery] | None = None) -> None:
        """Send the batch. ``claimed``: its deliveries as :func:`claim_deliveries` returned them."""
        deliveries = self.load(claimed=claimed)
        self.connection = open_connection()
        try:
            self.connection.open()
        except Exception:
            logger.exception("stepmail: could not open the mail connection; sending one by one")
        self.journal = send_journal.Journal.open(self.token)
        done = False
        pending: PendingRecord | PendingMove | None = None
        try:
            chunks = [deliveries[start : start + SEND_CHUNK] for start in range(0, len(deliveries), SEND_CHUNK)]
            if chunks and not self._out_of_time(time.monotonic()):
                # The first chunk's move to ``sending`` in the background too, while it renders;
                # each later chunk's is in the record of the chunk before it.
                pending = self._move_ahead(chunks[0])
                if pending is not None and len(chunks) == 1:
                    self.tick.start_next_claim(_db())
            moved: list[Delivery] | None = None
            for index, chunk in enumerate(chunks):
                rendered = None
                if pending is not None:
                    # The previous chunk's record (or this chunk's move) is being written in the
                    # background: render this chunk meanwhile. Nothing of it is handed over
                    # before that write committed and said which of its rows are still ours.
                    rendered = {delivery.pk: self.prepare(delivery) for delivery in chunk}
                    moved, pending = pending.result(), None
                if index == 0:
                    # The previous batch's last record, written while this one loaded, is in (the
                    # writer's queue is in order): collect it before anything is handed over.
                    self.tick.settle()
                if moved is None and self._out_of_time(time.monotonic()):
                    self._release_rest()
                    break
                following = chunks[index + 1] if index + 1 < len(chunks) else None
                if following is None:
                    # The last chunk (if not started below): the background thread has no record
                    # to write before this one's, so it claims the tick's next batch meanwhile.
                    self.tick.start_next_claim(_db())
                outcome = self.run_chunk(chunk, moved=moved, following=following, rendered=rendered,
                                         last=following is None)
                pending, moved = (outcome, None) if isinstance(outcome, PendingRecord) else (None, outcome)
                if pending is not None and index + 2 == len(chunks):
                    # This record moves the last chunk: the next batch is claimed right after it in
                    # the background thread, while the last chunk renders and is sent (claimed
                    # before the record, it would hold the record up).
                    self.tick.start_next_claim(_db())
            if pending is not None:
                # The last chunk's record: the tick's next batch loads while it is written, and
                # collects it (with this batch's journal) before handing anything over.
                self.tick.defer(pending, self.journal)
                pending, self.journal = None, None
            done = True
        finally:
            if pending is not None:
                # Stopped by an error while a record was being written: let it finish before the
                # journal is closed (and kept for the next tick).
                pending.wait()
            if self.journal is not None:
                # Kept after a failure: the next tick settles the batch from it.
                self.journal.close(done=done)
            try:
                self.connection.close()
            except Exception:  # pragma: no cover
                logger.exception("stepmail: closing the mail connection failed")

    def _move_ahead(self, chunk: list[Delivery]) -> PendingMove | None:
        """``chunk``'s move to ``sending`` submitted to the record writer, where records are
        written in the background; else None (the chunk moves in line before it is sent)."""
        writer = self.tick.record_writer(_db())
        if writer is None:
            return None
        ids = [d.pk for d in chunk]
        token, now = self.token, timezone.now()
        return PendingMove(self, writer.submit(lambda: _retrying(lambda: _claimed_to_sending(ids, token, now))),
                           chunk)

    def _out_of_time(self, now: float, started: float | None = None) -> bool:
        """Past the tick's deadline, or half the lease since the chunk started: stop handing over,
        so a live worker's rows never look abandoned to others (and q2 never kills it mid-send)."""
        if self.deadline is not None and now >= self.deadline:
            return True
        return started is not None and now - started >= stepmail_settings.LEASE_SECONDS / 2

    def _release_rest(self) -> None:
        self.result.released += _release_claimed(self.token)

    def run_chunk(self, chunk: list[Delivery], *, moved: list[Delivery] | None = None,
                  following: list[Delivery] | None = None,
                  rendered: dict[int, Any] | None = None, last: bool = False) -> list[Delivery] | PendingRecord | None:
        """Send ``chunk`` and record it. ``moved``: the chunk's deliveries still ours, when the
        previous chunk's record already moved it to ``sending``. ``following``: the next chunk,
        moved to ``sending`` by this one's record unless time ran out; returns what of it is ours
        (None: it was not moved), or a :class:`PendingRecord` saying so once the record written
        in the background is done. ``rendered``: what :meth:`prepare` made of each delivery
        already, by primary key. ``last``: the batch's last chunk, whose record may be written in
        the background too (a :class:`PendingRecord` for the tick to settle)."""
        started = time.monotonic()
        if moved is None:
            now = timezone.now()
            ids = [d.pk for d in chunk]
            chunk = self._ours(chunk, _retrying(lambda: _claimed_to_sending(ids, self.token, now)))
        else:
            chunk = moved
        outcomes: list[tuple[Delivery, Any]] = []
        stopped = False
        for delivery in chunk:
            if stopped or self._out_of_time(time.monotonic(), started):
                stopped = True
                outcomes.append((delivery, _Release()))
                self.result.released += 1
                continue
            prepared = rendered[delivery.pk] if rendered is not None else self.prepare(delivery)
            if isinstance(prepared, (_Skip, _Release, _Defer, _Delay, SendOutcome)):
                outcomes.append((delivery, prepared))
            elif self.journal is not None and not self.journal.handing(delivery.pk):
                stopped = True
                outcomes.append((delivery, _Release()))
                self.result.released += 1
            else:
                outcome = send(prepared)
                if self.journal is not None:
                    self.journal.answered(delivery.pk, outcome)
                outcomes.append((delivery, outcome))
        if stopped or not following or self._out_of_time(time.monotonic()):
            following = None
        return self.record(outcomes, then_move=following, background=last)

    def _ours(self, chunk: list[Delivery], moved: int) -> list[Delivery]:
        """The deliveries of ``chunk`` we moved to ``sending`` (``moved`` of them)."""
        if moved >= len(chunk):
            return chunk
        # Our lease expired and another worker took some of them: leave those alone.
        ours = set(
            Delivery.objects.filter(
                pk__in=[d.pk for d in chunk], claim_token=self.token, status=DeliveryStatus.SENDING
            ).values_list("pk", flat=True)
        )
        self.result.lost_claims += len(chunk) - len(ours)
        return [d for d in chunk if d.pk in ours]

    def record(self, outcomes: list[tuple[Delivery, Any]], then_move: list[Delivery] | None = None, *,
               background: bool = False) -> list[Delivery] | PendingRecord | None:
        """Write what happened to ``outcomes`` and advance the enrollments whose mail is done.

        ``then_move``: the batch's next chunk, moved ``claimed`` → ``sending`` in the same
        transaction (it is handed over right after); returns those of it that are ours, or,
        when the tick writes records in the background (record_writer.py), a
        :class:`PendingRecord` that returns them once written. ``background``: write it in the
        background even with no chunk to move (the batch's last record)."""
        now = timezone.now()
        exits: dict[str, list[int]] = defaultdict(list)
        #: (delivery, old status, new status) of each settled delivery, announced once written.
        changed: list[tuple[Delivery, str, str]] = []
        # The fields this chunk's outcomes change, no more (each one a column to write).
        fields = {"status", "claim_token", "claimed_at", "updated_at"}
        for delivery, outcome in outcomes:
            # A claimed delivery was moved to ``sending`` (in SQL) before it was prepared; one being
            # settled (journal, staff) has the status it was loaded with.
            old_status = DeliveryStatus.SENDING if delivery.status == DeliveryStatus.CLAIMED else delivery.status
            delivery.claim_token = None
            delivery.claimed_at = None
            delivery.updated_at = now  # bulk_update does not apply auto_now
            if isinstance(outcome, _Release):
                delivery.status = DeliveryStatus.SCHEDULED
                continue
            if isinstance(outcome, _Defer):
                delivery.status = DeliveryStatus.SCHEDULED
                delivery.due_at = outcome.due_at
                fields.add("due_at")
                self.result.reasons["ab_timing_variant"] += 1
                continue
            # What prepare() set on a delivery it rendered (unchanged on the others).
            fields.update(_RENDERED)
            if isinstance(outcome, _Delay):
                # Not yet: back in the queue for later, without counting an attempt.
                delivery.status = DeliveryStatus.SCHEDULED
                delivery.due_at = outcome.until
                delivery.reason = outcome.reason
                fields.update(("due_at", "reason"))
                self.result.delayed += 1
                self.result.reasons[f"delayed:{outcome.reason}"] += 1
                continue
            if isinstance(outcome, Uncertain) or getattr(outcome, "uncertain", False):
                # Handed over without a clear answer: maybe sent, so never resent by itself.
                delivery.status = DeliveryStatus.UNCERTAIN
                delivery.attempts += 1
                delivery.reason = outcome.reason
                delivery.error = getattr(outcome, "error", "")[:4000]
                fields.update(("attempts", "reason", "error"))
                self.result.uncertain += 1
            elif isinstance(outcome, _Skip):
                delivery.status = DeliveryStatus.SKIPPED
                delivery.reason = outcome.reason
                fields.add("reason")
                if outcome.exit_enrollment:
                    exits[outcome.reason].append(delivery.enrollment_id)
                self.result.skipped += 1
            elif outcome.ok:
                delivery.status = DeliveryStatus.SENT
                delivery.sent_at = now
                delivery.attempts += 1
                delivery.esp_message_id = outcome.message_id[:255]
                delivery.esp_status = outcome.esp_status[:32]
                delivery.reason = ""
                delivery.error = ""
                fields.update(("sent_at", "attempts", "esp_message_id", "esp_status", "reason", "error"))
                self.result.sent += 1
            else:
                delivery.attempts += 1
                delivery.error = outcome.error[:4000]
                delivery.reason = outcome.reason
                fields.update(("attempts", "reason", "error", "due_at"))
                if outcome.permanent or delivery.attempts >= stepmail_settings.MAX_ATTEMPTS:
                    delivery.status = DeliveryStatus.FAILED
                    self.result.failed += 1
                    if outcome.permanent and outcome.reason in ("invalid_address", "rejected"):
                        exits[outcome.reason].append(delivery.enrollment_id)
                else:
                    delivery.status = DeliveryStatus.SCHEDULED
                    delivery.due_at = now + retry_delay(delivery.attempts)
                    self.result.retried += 1
            self.result.reasons[delivery.reason or delivery.status] += 1
            changed.append((delivery, old_status, delivery.status))
        exited = {pk for pks in exits.values() for pk in pks}
        next_ids = [d.pk for d in then_move] if then_move else []
        names = [name for name in _RECORDED if name in fields]
        moved_count = 0

        def write() -> tuple[int, set[int] | None]:
            """How many of ``then_move`` moved, and the deliveries written (None: all)."""
            nonlocal moved_count
            if _db().vendor == "postgresql":
                moved_count, count = self._write_at_once(outcomes, names, exits, exited, next_ids, now)
                return moved_count, None if count == len(outcomes) else _settled_by(outcomes, now)
            mine = None
            with transaction.atomic(using=_db().alias):
                # Compare-and-set on our token: rows someone else settled meanwhile (an erasure, a
                # person settling an uncertain one) keep their decision and are not advanced.
                written = [d for d, _ in outcomes]
                updated = update_fields(
                    written, names, using=_db().alias, only_if={"claim_token": self.token, "status": OURS},
                )
                if updated < len(written):
                    # update_fields stamped one updated_at on all of them: ours are the rows wearing it.
                    ours = set(Delivery.objects.filter(
                        pk__in=[d.pk for d in written], updated_at=written[0].updated_at, claim_token=None
                    ).values_list("pk", flat=True))
                    written = [d for d in written if d.pk in ours]
                    mine = _settled_by(outcomes, now)
                for reason, enrollment_ids in exits.items():
                    Enrollment.objects.filter(pk__in=enrollment_ids, status=EnrollmentStatus.ACTIVE).update(
                        status=EnrollmentStatus.EXITED, exit_reason=reason, ended_at=now
                    )
                finished = [d for d in written if d.status in FINAL and d.enrollment_id not in exited]
                if finished:
                    # Staff may have cancelled or paused an enrollment while this batch was sending:
                    # advance() only touches enrollments that are still active.
                    self.advance(finished, now)
                if next_ids:
                    moved_count = _claimed_to_sending(next_ids, self.token, now)
            return moved_count, mine

        writer = self.tick.record_writer(_db()) if then_move or background else None
        if writer is not None:
            # In a thread with its own connection (on which _db() is that connection).
            return PendingRecord(self, writer.submit(lambda: _retrying(write)), changed, then_move)
        # What the backend answered is known only here: losing it to a dropped database
        # connection would turn sent mail into uncertain mail, so reconnect and write again.
        _moved, written = _retrying(write)
        transaction.on_commit(lambda: _announce(changed, written), using=_db().alias)
        return self._ours(then_move, moved_count) if then_move else None

    def _write_at_once(self, outcomes: list[tuple[Delivery, Any]], names: list[str],
                       exits: dict[str, list[int]], exited: set[int], next_ids: list[int],
                       now) -> tuple[int, int]:
        """PostgreSQL: :meth:`record`'s writes as one statement (a data-modifying ``WITH``, atomic
        without a transaction around it); returns how many of ``next_ids`` moved to ``sending`` and
        how many of the chunk's deliveries the compare-and-set wrote.

        One round trip instead of five or six (BEGIN, the compare-and-set, the exits, the next
        steps, the completions, the next chunk's move, COMMIT): each costs more than the
        database's work. The sub-statements see one snapshot and not each other's changes, so
        they touch disjoint rows: the chunk's deliveries, the enrollments that exit, those that
        complete (none of which exited), the next steps' new rows and the next chunk's
        deliveries. The next steps and completions go only to enrollments whose delivery the
        compare-and-set wrote (``written``), so a repeat after a lost connection (the first run
        committed) writes nothing again.
        """
        if not outcomes:  # the whole chunk was taken over by another worker: only the move
            return (_claimed_to_sending(next_ids, self.token, now) if next_ids else 0), 0
        db = _db()
        deliveries = [d for d, _ in outcomes]
        written, params = update_statement(
            deliveries, names, db, only_if={"claim_token": self.token, "status": OURS},
            returning=("enrollment", "status"),
        )
        parts = [f"written AS ({written})"]
        enrollment_pk = Enrollment._meta.pk
        key_type = rows.db_type(enrollment_pk, db)
        e_table, e_id = rows.table(Enrollment, db), rows.column(Enrollment, "id", db)
        e_status = rows.column(Enrollment, "status", db)
        ended = Enrollment._meta.get_field("ended_at").get_db_prep_save(now, db)
        if exits:
            # One reason per enrollment (the first, as one UPDATE per reason would leave it): a
            # row must not be updated twice by one statement.
            reasons: dict[int, str] = {}
            for reason, enrollment_ids in exits.items():
                for pk in enrollment_ids:
                    reasons.setdefault(pk, reason)
            parts.append(
                f"exits AS (UPDATE {e_table} SET {e_status} = %s,"
                f" {rows.column(Enrollment, 'exit_reason', db)} = x.reason,"
                f" {rows.column(Enrollment, 'ended_at', db)} = %s"
                f" FROM unnest(%s::{key_type}[], %s::text[]) AS x(id, reason)"
                f" WHERE {e_table}.{e_id} = x.id AND {e_table}.{e_status} = %s)"
            )
            params += [EnrollmentStatus.EXITED.value, ended, list(reasons), list(reasons.values()),
                       EnrollmentStatus.ACTIVE.value]
        finished = [d for d in deliveries if d.status in FINAL and d.enrollment_id not in exited]
        following, completed = self._next_steps(finished)
        final = ", ".join(["%s"] * len(FINAL))
        d_enrollment = rows.column(Delivery, "enrollment", db)
        d_status = rows.column(Delivery, "status", db)
        # The enrollments whose delivery the compare-and-set wrote with a final status; its
        # parameters (the statuses) follow those of the statement it is put in.
        ours = f"SELECT {d_enrollment} FROM written WHERE {d_status} IN ({final})"
        statuses = sorted(str(status.value) for status in FINAL)
        if following:
            insert, insert_params = insert_ignoring_conflicts_statement(
                following, Delivery, db,
                only_if_exists=(Enrollment, "enrollment_id", {"status": EnrollmentStatus.ACTIVE}),
                only_if_in=("enrollment_id", ours),
            )
            parts.append(f"next_steps AS ({insert})")
            params += insert_params + statuses
        if completed:
            parts.append(
                f"completed AS (UPDATE {e_table} SET {e_status} = %s,"
                f" {rows.column(Enrollment, 'exit_reason', db)} = %s,"
                f" {rows.column(Enrollment, 'ended_at', db)} = %s"
                f" WHERE {e_id} = ANY(%s::{key_type}[]) AND {e_status} = %s AND {e_id} IN ({ours}))"
            )
            params += [EnrollmentStatus.COMPLETED.value, "last_step", ended, completed,
                       EnrollmentStatus.ACTIVE.value, *statuses]
        result = "SELECT 0"
        if next_ids:
            move, move_params = _claimed_to_sending_sql(next_ids, self.token, now, db)
            parts.append(f"moved AS ({move} RETURNING 1)")
            params += move_params
            result = "SELECT (SELECT count(*) FROM moved)"
        with rows.cursor(db, server_binding=True) as cursor:
            cursor.execute(f"WITH {', '.join(parts)} {result}, (SELECT count(*) FROM written)", params)
            moved, count = cursor.fetchone()
            return moved, count

    def advance(self, finished: list[Delivery], now) -> None:
        """Schedule each enrollment's next step, or complete the enrollment — for enrollments
        that are still active (staff may have paused or cancelled one meanwhile)."""
        following, completed = self._next_steps(finished)
        if following:
            insert_ignoring_conflicts(
                following, using=_db().alias, model=Delivery,
                only_if_exists=(Enrollment, "enrollment_id", {"status": EnrollmentStatus.ACTIVE}),
            )
        if completed:
            Enrollment.objects.filter(pk__in=completed, status=EnrollmentStatus.ACTIVE).update(
                status=EnrollmentStatus.COMPLETED, exit_reason="last_step", ended_at=now
            )

    def _next_steps(self, finished: list[Delivery]) -> tuple[list[dict[str, Any]], list[int]]:
        """The next step of each enrollment whose delivery is done (rows to insert), and the
        enrollments that had their last step (to complete)."""
        following: list[dict[str, Any]] = []
        completed: list[int] = []
        next_steps: dict[tuple[int, str], StepEmailPage | None] = {}  # most of a chunk share a step
        for delivery in finished:
            enrollment = delivery.enrollment
            marker = (enrollment.sequence_id, delivery.step_path)
            try:
                nxt = next_steps[marker]
            except KeyError:
                steps = self.following.get(enrollment.sequence_id, [])
                nxt = next_steps[marker] = next((s for s in steps if s.path > delivery.step_path), None)
            if nxt is None:
                completed.append(enrollment.pk)
                continue
            following.append({"enrollment_id": enrollment.pk, "step_id": nxt.pk, "step_path": nxt.path,
                              "due_at": due_at_for(enrollment, nxt)})
        return following, completed


class _Pending:
    """Work of a batch being written in the background by the record writer's thread."""

    #: Logged when :meth:`wait` finds that the work failed (with the batch's token).
    failure = "stepmail: writing for batch %s in the background failed"

    def __init__(self, sender: BatchSender, future: Future):
        self.sender, self.future = sender, future

    def wait(self) -> None:
        """Wait for the work without using its answer (logged if it failed)."""
        try:
            self.future.result()
        except Exception:
            logger.exception(self.failure, self.sender.token)


class PendingRecord(_Pending):
    """A chunk's record being written in the background (:meth:`BatchSender.record`)."""

    failure = "stepmail: recording batch %s failed; its send journal keeps the answers"

    def __init__(self, sender: BatchSender, future: Future, changed: list[tuple[Delivery, str, str]],
                 then_move: list[Delivery] | None):
        super().__init__(sender, future)
        self.changed, self.then_move = changed, then_move

    def result(self) -> list[Delivery] | None:
        """Wait for the record; the next chunk's deliveries still ours. Raises what it raised."""
        moved_count, written = self.future.result()
        _announce(self.changed, written)
        return self.sender._ours(self.then_move, moved_count) if self.then_move else None


class PendingMove(_Pending):
    """A chunk's move to ``sending`` being written in the background (:meth:`BatchSender._move_ahead`)."""

    failure = "stepmail: moving batch %s to sending failed"

    def __init__(self, sender: BatchSender, future: Future, chunk: list[Delivery]):
        super().__init__(sender, future)
        self.chunk = chunk

    def result(self) -> list[Delivery]:
        """Wait for the move; the chunk's deliveries still ours. Raises what it raised."""
        return self.sender._ours(self.chunk, self.future.result())


@dataclass
class _Defer:
    """Not yet: an A/B timing variant sends this delivery later."""

    due_at: Any


@dataclass
class _Skip:
    reason: str
    exit_enrollment: bool = False


@dataclass
class _Release:
    """Not sent and not counted: back to ``scheduled`` as it was (a paused enrollment, or not
    handed over after all because the tick ran out of time)."""


@dataclass
class Uncertain:
    """Handed to the backend, answer unknown (its worker stopped): never resent by itself."""

    reason: str
    error: str = ""


@dataclass
class _Delay:
    """Send later (a send window, the frequency cap): rescheduled, no attempt counted."""

    until: Any
    reason: str


#: Per SECRET_KEY: message_id's keyed HMAC object, copied for each mail.
_message_id_macs: dict[str, Any] = {}


def _release_claimed(token: uuid.UUID) -> int:
    """Put the deliveries ``token`` claimed and did not hand over back to ``scheduled``."""
    return _retrying(lambda: Delivery.objects.filter(
        claim_token=token, status=DeliveryStatus.CLAIMED
    ).update(status=DeliveryStatus.SCHEDULED, claim_token=None, claimed_at=None))


def message_id(delivery: Delivery, domain: str) -> str:
    """The same Message-ID on every attempt of a delivery (receivers drop duplicates), and a
    different one for every other mail, on this install or any other."""
    # salted_hmac("stepmail.message-id", …) with its key derived once per SECRET_KEY.
    secret = settings.SECRET_KEY
    base = _message_id_macs.get(secret)
    if base is None:
        base = _message_id_macs[secret] = salted_hmac("stepmail.message-id", "")
    pk = delivery.pk
    mac = base.copy()
    mac.update(f"{pk}:{delivery.created_at.isoformat()}".encode())
    return f"<stepmail.{pk}.{mac.digest()[:8].hex()}@{domain}>"


def _claimed_to_sending(ids: list[int], token: uuid.UUID, now) -> int:
    """The compare-and-set ``claimed`` → ``sending`` of a chunk's rows still held by ``token``;
    returns how many moved. One plain ``UPDATE``: once per chunk, building it through the ORM
    cost more than running it."""
    db = _db()
    sql, params = _claimed_to_sending_sql(ids, token, now, db)
    with rows.cursor(db, server_binding=True) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _claimed_to_sending_sql(ids: list[int], token: uuid.UUID, now, db) -> tuple[str, list[Any]]:
    """:func:`_claimed_to_sending`'s ``UPDATE`` and its parameters (also a query of
    :meth:`BatchSender._write_at_once`'s ``WITH``)."""
    meta = Delivery._meta
    quote = db.ops.quote_name
    field = meta.get_field
    status, claimed_at, claim_token = quote(field("status").column), field("claimed_at"), field("claim_token")
    ours, id_params = rows.among(quote(meta.pk.column), ids, meta.pk, db)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {status} = %s, {quote(claimed_at.column)} = %s "
        f"WHERE {ours} AND {quote(claim_token.column)} = %s AND {status} = %s"
    )
    params = [DeliveryStatus.SENDING.value, claimed_at.get_db_prep_save(now, db), *id_params,
              claim_token.get_db_prep_save(token, db), DeliveryStatus.CLAIMED.value]
    return sql, params


def _retrying(write, attempts: int = 3):
    """Run ``write`` (idempotent database work), reconnecting if the connection was lost.

    Only outside a transaction: inside one the work is not ours to repeat.
    """
    db = _db()
    for attempt in range(attempts):
        try:
            return write()
        except (OperationalError, InterfaceError):
            if attempt == attempts - 1 or db.in_atomic_block:
                raise
            logger.warning("stepmail: database connection lost; reconnecting", exc_info=True)
            db.close()
            time.sleep(0.2 * 2**attempt)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 1, 2, 4 … × RETRY_BACKOFF_SECONDS, capped."""
    base = stepmail_settings.RETRY_BACKOFF_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), stepmail_settings.RETRY_BACKOFF_MAX_SECONDS))


def _settled_by(outcomes: list[tuple[Delivery, Any]], since) -> set[int]:
    """The deliveries of ``outcomes`` that the record begun at ``since`` wrote, when its
    compare-and-set did not write them all (others were settled by someone else meanwhile: an
    erasure, staff, a worker that took over an expired lease): those released from our claim
    since then with the status the record gave them. Read back rather than taken from the
    compare-and-set's answer, so a write repeated after a lost connection (whose first attempt
    committed) still knows its rows."""
    wanted = {d.pk: d.status for d, _ in outcomes}
    found = Delivery.objects.using(_db().alias).filter(
        pk__in=list(wanted), updated_at__gte=since, claim_token=None,
    ).values_list("pk", "status")
    return {pk for pk, status in found if status == wanted[pk]}


def _announce(changed: list[tuple[Delivery, str, str]], written: set[int] | None = None) -> None:
    """``delivery_status_changed`` for each change the record wrote (``written``: their
    primary keys; None: all of them)."""
    for delivery, old_status, new_status in changed:
        if written is not None and delivery.pk not in written:
            continue
        try:
            delivery_status_changed.send(
                sender=Delivery, delivery=delivery, old_status=old_status, new_status=new_status
            )
        except Exception:  # a receiver's bug must not undo or stop sending
            logger.exception("stepmail: a delivery_status_changed receiver failed")
