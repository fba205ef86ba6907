"""Putting contacts into sequences: the one place enrollments and first deliveries are created.

Every trigger ends here. The number of queries does not depend on how many sequences listen to
the trigger.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, router, transaction
from django.db.models import Model, Q
from django.utils import timezone

from .models import (
    ConsentStatus,
    Contact,
    Delivery,
    Enrollment,
    SequencePage,
    StepEmailPage,
    Suppression,
    normalize_email,
)
from . import live
from .bulk import insert_new, insert_rows, insert_statement, instances
from .entry import plan_enrollments
from .policy import SuppressionIndex
from .scheduling import STEP_TIMING_FIELDS, due_at_for
from .signals import enrollment_created
from .tracking.holdout import apply_holdout
from .triggers.registry import Trigger, registry

logger = logging.getLogger(__name__)


@dataclass
class Person:
    """Who to enroll, as far as the trigger knows."""

    email: str
    user: Any = None
    first_name: str = ""
    last_name: str = ""
    language: str = ""


def person_from(value: Any) -> Person | Contact:
    """Accept a Contact, a user or an email address."""
    if isinstance(value, Contact):
        return value
    if isinstance(value, str):
        return Person(email=value)
    if isinstance(value, get_user_model()):
        return Person(
            email=getattr(value, "email", "") or "",
            user=value,
            first_name=getattr(value, "first_name", "") or "",
            last_name=getattr(value, "last_name", "") or "",
        )
    if isinstance(value, Person):
        return value
    raise TypeError(f"Cannot enroll {value!r}: give a Contact, a user or an email address")


def contact_for(person: Person | Contact, *, consent_source: str = "") -> Contact | None:
    """The contact of ``person``, created or completed as needed; None without an address."""
    return contact_and_suppressions(person, consent_source=consent_source)[0]


def _lookup(email: str) -> tuple[Contact | None, list[tuple[str, int | None, str]]]:
    """The contact of ``email`` and the address's suppressions, in one query (checkout pays for
    each round trip to the database)."""
    alias = router.db_for_read(Contact)
    connection = connections[alias]
    sql, attnames, converted = _lookup_plan(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [email])
        rows = cursor.fetchall()
    contact = None
    if rows and rows[0][0] is not None:
        values = list(rows[0][: len(attnames)])
        for index, expression in converted:
            for function in connection.ops.get_db_converters(expression) + expression.get_db_converters(connection):
                values[index] = function(values[index], expression, connection)
        contact = Contact.from_db(alias, attnames, values)
    suppressions = [(email, row[-2], row[-1]) for row in rows if row[-1]]
    return contact, suppressions


@functools.cache
def _lookup_plan(alias: str) -> tuple[str, list[str], list[tuple[int, Any]]]:
    """The lookup's SQL, the contact's fields (attnames) it reads and those whose values the
    database's converters change (e.g. SQLite's text timestamps; none on PostgreSQL), with their
    column expressions — worked out once per database: a RawQuerySet's compiler and column
    mapping cost more than the query."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    opts = Contact._meta
    fields = opts.concrete_fields
    columns = ", ".join(f"c.{quote(f.column)}" for f in fields)
    email_column = quote(opts.get_field("email").column)
    sql = (
        f"SELECT {columns}, s.{quote(Suppression._meta.get_field('sequence').column)}, "
        f"s.{quote(Suppression._meta.get_field('reason').column)} "
        f"FROM (SELECT %s AS email) q LEFT JOIN {quote(opts.db_table)} c ON c.{email_column} = q.email "
        f"LEFT JOIN {quote(Suppression._meta.db_table)} s ON s.{quote(Suppression._meta.get_field('email').column)} = q.email"
    )
    converted = []
    for index, field in enumerate(fields):
        expression = field.get_col(opts.db_table)
        if connection.ops.get_db_converters(expression) + expression.get_db_converters(connection):
            converted.append((index, expression))
    return sql, [f.attname for f in fields], converted


def contact_and_suppressions(
    person: Person | Contact, *, consent_source: str = "", create: bool = True
) -> tuple[Contact | None, SuppressionIndex]:
    """The contact of ``person`` (created or completed as needed; None without an address) and the
    suppressions of its address. ``create=False``: a new contact is returned unsaved (no primary
    key) for the caller to insert with what it writes next."""
    if isinstance(person, Contact):
        return person, SuppressionIndex([person.email])
    email = normalize_email(person.email)
    if not email:
        return None, SuppressionIndex([])
    defaults = {
        "user": person.user,
        "first_name": person.first_name[:150],
        "last_name": person.last_name[:150],
        "language": person.language,
    }
    if consent_source:
        defaults.update(
            consent=ConsentStatus.OPTED_IN, consent_source=consent_source, consent_at=timezone.now()
        )
    contact, suppressed = _lookup(email)
    suppressions = SuppressionIndex([email], rows=suppressed)
    created = False
    if contact is None and not create:
        contact = Contact(email=email, **defaults)
        contact._stepmail_created = True
        return contact, suppressions
    if contact is None:
        # INSERT … ON CONFLICT DO NOTHING: no savepoint, and another process creating the same
        # contact at the same moment is found instead of raising.
        fresh = insert_new([Contact(email=email, **defaults)], key=("email",), using=router.db_for_write(Contact))
        created = bool(fresh)
        contact = fresh[0] if fresh else Contact.objects.get(email=email)
    contact._stepmail_created = created
    if not created:
        changed = []
        for field in ("first_name", "last_name", "language"):
            if not getattr(contact, field) and defaults[field]:
                setattr(contact, field, defaults[field])
                changed.append(field)
        if person.user is not None and contact.user_id is None:
            contact.user = person.user
            changed.append("user")
        if consent_source and contact.consent == ConsentStatus.UNKNOWN:
            contact.consent = ConsentStatus.OPTED_IN
            contact.consent_source = consent_source
            contact.consent_at = timezone.now()
            changed += ["consent", "consent_source", "consent_at"]
        if changed:
            contact.save(update_fields=changed)
    return contact, suppressions


def live_sequences(trigger_key: str) -> tuple[list[SequencePage], dict[int, StepEmailPage]]:
    """Published sequences for a trigger that have a step, with the first step of each (two
    queries, or none when cached: see ``live``)."""
    return live.cached(trigger_key, _load_live_sequences)


def _load_live_sequences(trigger_key: str) -> tuple[list[SequencePage], dict[int, StepEmailPage]]:
    sequences = list(SequencePage.objects.live().filter(trigger=trigger_key))
    if not sequences:
        return [], {}
    prefix = Q()
    for sequence in sequences:
        prefix |= Q(path__startswith=sequence.path, depth=sequence.depth + 1)
    first_steps: dict[int, StepEmailPage] = {}
    by_path = {s.path: s for s in sequences}
    steplen = StepEmailPage.steplen
    for step in StepEmailPage.objects.filter(prefix).order_by("path").only(
        "id", "path", "depth", "live", *STEP_TIMING_FIELDS
    ):
        parent = by_path.get(step.path[:-steplen])
        if parent is not None and parent.pk not in first_steps:
            first_steps[parent.pk] = step
    # A sequence without a step has nothing to send: nobody enters it.
    return [s for s in sequences if s.pk in first_steps], first_steps


def may_enroll(sequence: SequencePage, contact: Contact, trigger: Trigger) -> bool:
    """Consent and opt-out policy at enrollment (it is checked again at send time)."""
    if sequence.is_marketing:
        if not contact.can_receive_marketing:
            return False
        return contact.consent == ConsentStatus.OPTED_IN or trigger.implies_consent
    return contact.can_receive_transactional


def enroll(
    who: Any,
    trigger_key: str,
    *,
    obj: Any = None,
    at: datetime | None = None,
    context: dict[str, Any] | None = None,
    consent_source: str = "",
    key: str | None = None,
    match: dict[str, Any] | None = None,
    purchase_relationship: bool = False,
    also: Sequence[tuple[type[Model], Mapping[str, Any]]] = (),
) -> list[Enrollment]:
    """See :func:`stepmail_plugin.enroll`.

    ``key`` overrides the trigger's de-duplication key (e.g. ``"birthday:2026"``); ``match`` is
    passed to the trigger's sequence filter (``{"sequence_ids": [...]}`` limits the sequences).
    ``purchase_relationship``: this moment comes from the person's purchases (e.g. the
    anniversary of their first order), which allows marketing mail like an order trigger does.
    ``also``: more rows to insert, ``(Model, {attname: value})``, committed with the enrollments
    or not at all (alone when no sequence listens), e.g. a follow-up (followups.row).
    """
    trigger = registry.get(trigger_key)
    if purchase_relationship and not trigger.implies_consent:
        trigger = replace(trigger, implies_consent=True)
    sequences, first_steps = live_sequences(trigger.key)
    if not sequences:
        _insert_also(also)
        return []
    alias = router.db_for_write(Enrollment)
    if _one_write(alias, sequences):
        # PostgreSQL: the contact (if new), its enrollments, their first deliveries and ``also``
        # are written by one statement, atomic on its own; no transaction around it saves
        # checkout the BEGIN and COMMIT round trips.
        created = _enroll(who, trigger, sequences, first_steps, obj, at, context, consent_source, key, match,
                          also=also, alias=alias)
    else:
        with transaction.atomic(using=alias):  # one commit for the contact, its enrollments and ``also``
            created = _enroll(who, trigger, sequences, first_steps, obj, at, context, consent_source, key, match,
                              also=also, alias=alias)
    if created:
        transaction.on_commit(
            lambda: enrollment_created.send(sender=Enrollment, enrollments=created), using=alias
        )
    return created


def _insert_also(also: Sequence[tuple[type[Model], Mapping[str, Any]]]) -> None:
    for model, row in also:
        insert_rows(model, [row], using=router.db_for_write(model))


def _folds(alias: str, sequences: Sequence[SequencePage]) -> bool:
    """PostgreSQL: a new contact is inserted by the statement that writes its enrollments (one
    round trip less at checkout), unless a holdout group needs its id to decide who is held out."""
    return connections[alias].vendor == "postgresql" and not any(getattr(s, "holdout_percent", 0) for s in sequences)


def _one_write(alias: str, sequences: Sequence[SequencePage]) -> bool:
    """Whether :func:`_enroll` writes everything that must commit together in one statement
    (:func:`_write` with the new contact folded in), outside any transaction of the caller's.

    Besides that statement it only reads, or completes an existing contact's empty names,
    language or consent (an update worth keeping on its own); a new contact enrolled nowhere is
    written with ``also`` in a transaction of its own."""
    return _folds(alias, sequences) and not connections[alias].in_atomic_block


def _enroll(who, trigger, sequences, first_steps, obj, at, context, consent_source, key=None, match=None, *,
            also=(), alias="default"):
    person = person_from(who)
    fold = _folds(alias, sequences)
    contact, suppressions = contact_and_suppressions(person, consent_source=consent_source, create=not fold)
    rows: list[dict[str, Any]] = []
    if contact is None:
        logger.info("stepmail: %s trigger without an email address; nobody enrolled", trigger.key)
    else:
        allowed = [
            s
            for s in sequences
            if may_enroll(s, contact, trigger) and not suppressions.reason(contact, s.pk, s.is_marketing)
        ]
        if allowed:
            anchor = at or timezone.now()
            rows = plan_enrollments(
                allowed, contact, trigger, obj=obj, anchor=anchor, context=context or {}, key=key, match=match,
                new_contact=getattr(contact, "_stepmail_created", False),  # a new contact has no enrollments yet
            )
    if contact is not None and contact.pk is None:  # not inserted yet (``fold``)
        if not rows:
            # Two statements that commit together (enroll() may have opened no transaction).
            with transaction.atomic(using=alias, savepoint=False):
                _insert_new_contact(contact, alias)
                _insert_also(also)
            return []
    elif not rows:
        _insert_also(also)
        return []
    now = timezone.now()
    by_id = {s.pk: s for s in sequences}
    for row in rows:
        row["created_at"] = now  # the instances returned carry what the database holds
    apply_holdout(rows, by_id, now)
    deliveries = []
    for row in rows:
        if row.get("holdout"):  # held out: receives nothing (tracking/holdout.py)
            continue
        sequence, step = by_id[row["sequence_id"]], first_steps[row["sequence_id"]]
        timing = _Timing(sequence, contact, row["anchor_at"], row["supply_days"])
        deliveries.append({
            # The enrollment's id once inserted; until then the sequence tells the rows apart.
            "enrollment_id": row["sequence_id"],
            "step_id": step.pk,
            "step_path": step.path,
            "due_at": due_at_for(timing, step),
        })
    # Another process may enroll the same person at the same moment: what it inserted first is
    # skipped here (the unique constraint), the rest is new.
    new_contact = contact if contact.pk is None else None
    inserted = _write(rows, deliveries, also, alias, new_contact)
    if new_contact is not None and new_contact.pk is None:
        # Another process inserted this address between our lookup and our insert, so nothing
        # was enrolled (``also`` was written): enroll the contact it created.
        return _enroll(who, trigger, sequences, first_steps, obj, at, context, consent_source, key, match,
                       also=(), alias=alias)
    made = []
    for row in rows:
        pk = inserted.get(row["sequence_id"])
        if pk is not None:
            row["id"], row["contact_id"] = pk, contact.pk
            made.append(row)
    return instances(
        Enrollment, made, using=alias, now=now,
        related={"contact": contact, "sequence": lambda row: by_id[row["sequence_id"]]},
    )


class _Timing:
    """What :func:`~stepmail_plugin.scheduling.due_at_for` reads of an enrollment."""

    __slots__ = ("sequence", "contact", "anchor_at", "supply_days")

    def __init__(self, sequence, contact, anchor_at, supply_days):
        self.sequence, self.contact, self.anchor_at, self.supply_days = sequence, contact, anchor_at, supply_days


def _insert_new_contact(contact: Contact, alias: str) -> None:
    created = insert_new([contact], key=("email",), using=alias)
    if not created:  # inserted by another process meanwhile
        contact.pk = Contact.objects.using(alias).values_list("pk", flat=True).get(email=contact.email)
        contact._state.adding, contact._state.db = False, alias
        contact._stepmail_created = False


def _write(rows, deliveries, also, alias, new_contact=None) -> dict[int, int]:
    """Insert the enrollments (skipping those that already exist), the first deliveries of those
    inserted, and ``also``; returns the new enrollments' ids by sequence id.

    ``new_contact`` (PostgreSQL): the unsaved contact of the rows, inserted by the same statement;
    its primary key is set, or left empty when its address was inserted by someone else first
    (then nothing else but ``also`` is written)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        returned = insert_rows(Enrollment, rows, using=alias, ignore_conflicts=True, returning=("pk", "sequence_id"))
        inserted = {sequence_id: pk for pk, sequence_id in returned}
        insert_rows(
            Delivery,
            [{**d, "enrollment_id": inserted[d["enrollment_id"]]} for d in deliveries if d["enrollment_id"] in inserted],
            using=alias, ignore_conflicts=True,
        )
        _insert_also(also)
        return inserted
    # PostgreSQL: one data-modifying WITH query; deliveries are inserted only for the enrollments
    # the first INSERT returns (those it did not skip). Rows that cannot conflict are inserted
    # without ON CONFLICT (which costs the server a probe of every unique index and a speculative
    # insertion per row): the enrollments of a contact the statement itself inserts, and the
    # first deliveries of enrollments it inserts (one per enrollment).
    parts, params = [], []
    if new_contact is not None:
        contact_sql, contact_params = insert_statement(
            Contact, [{f.attname: getattr(new_contact, f.attname) for f in Contact._meta.concrete_fields
                       if not f.primary_key}],
            connection, ignore_conflicts=True, returning=("pk",),
        )
        parts.append(f"c AS ({contact_sql})")
        params += contact_params
    sql, enrollment_params = insert_statement(
        Enrollment, rows, connection, ignore_conflicts=new_contact is None, returning=("pk", "sequence_id"),
        join=("contact_id", "c", "id", None) if new_contact is not None else None,
    )
    parts.append(f"e AS ({sql})")
    params += enrollment_params
    tail = []
    if deliveries:
        delivery_sql, delivery_params = insert_statement(
            Delivery, deliveries, connection, join=("enrollment_id", "e", "id", "sequence_id")
        )
        parts.append(f"d AS ({delivery_sql})")
        tail += delivery_params
    for n, (model, row) in enumerate(also):
        also_sql, also_params = insert_statement(model, [row], connection)
        parts.append(f"a{n} AS ({also_sql})")
        tail += also_params
    pk = connection.ops.quote_name(Enrollment._meta.pk.column)
    select = f"SELECT {pk}, sequence_id FROM e"
    if new_contact is not None:
        select += f" UNION ALL SELECT {connection.ops.quote_name(Contact._meta.pk.column)}, NULL FROM c"
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} {select}", params + tail)
        returned = cursor.fetchall()
    inserted = {sequence_id: pk for pk, sequence_id in returned if sequence_id is not None}
    if new_contact is not None:
        contact_pk = next((pk for pk, sequence_id in returned if sequence_id is None), None)
        if contact_pk is not None:
            new_contact.pk = contact_pk
            new_contact._state.adding, new_contact._state.db = False, alias
    return inserted


def enroll_safely(*args: Any, **kwargs: Any) -> list[Enrollment]:
    """:func:`enroll` for signal receivers: logs any failure instead of raising into the caller."""
    try:
        return enroll(*args, **kwargs)
    except Exception:
        trigger = args[1] if len(args) > 1 else kwargs.get("trigger_key")
        logger.exception("stepmail: enrollment failed (trigger=%s, obj=%r)", trigger, kwargs.get("obj"))
        return []
