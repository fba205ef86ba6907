"""Writing many rows at once, faster than the ORM's ``bulk_update`` and ``bulk_create``.

``QuerySet.bulk_update`` builds a ``CASE WHEN pk = … THEN …`` expression for every field and row,
and both it and ``bulk_create`` prepare every value of every row through the field's methods: more
Python per row than rendering and sending a mail. Here one statement runs for all rows through
``executemany`` (one round trip with psycopg 3's pipeline, one prepared statement in SQLite), and
a value shared by many rows (the batch's timestamp, ``None``, a status) is prepared once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connections
from django.db.models import DateField, DateTimeField, Field, Model
from django.db.models.constants import OnConflict
from django.utils import timezone

from .rows import db_type


_PASS_THROUGH = {
    # Fields whose database form of a value of these types is the value itself (on SQLite and
    # PostgreSQL): the per-value preparation is skipped for them.
    "CharField": (str,),
    "TextField": (str,),
    "EmailField": (str,),
    "SlugField": (str,),
    "URLField": (str,),
    "IntegerField": (int,),
    "BigIntegerField": (int,),
    "SmallIntegerField": (int,),
    "PositiveIntegerField": (int,),
    "PositiveBigIntegerField": (int,),
    "PositiveSmallIntegerField": (int,),
    "AutoField": (int,),
    "BigAutoField": (int,),
}


_PLAIN_PRE_SAVE = (Field.pre_save, DateField.pre_save, DateTimeField.pre_save)


class _Preparer:
    """``field.get_db_prep_save(field.pre_save(obj, add))`` for many objects, memoised per value."""

    def __init__(self, fields: Sequence[Field], connection: Any, add: bool):
        self.fields = fields
        self.connection = connection
        self.add = add
        self.memo: dict[tuple[int, Any], Any] = {}
        # auto_now (and auto_now_add on insert) fields: one timestamp for the whole statement.
        now = timezone.now()
        self.stamped = {
            index: now
            for index, field in enumerate(fields)
            if getattr(field, "auto_now", False) or (add and getattr(field, "auto_now_add", False))
        }
        # Per field: read the attribute directly (pre_save does nothing more), and the value types
        # whose database form is the value itself.
        self.plan = []
        for index, field in enumerate(fields):
            direct = index not in self.stamped and type(field).pre_save in _PLAIN_PRE_SAVE
            target = getattr(field, "target_field", None) if field.is_relation else field
            kinds = _PASS_THROUGH.get(target.get_internal_type(), ()) if target is not None else ()
            self.plan.append((index, field, field.attname, direct, kinds))

    def row(self, obj: Model) -> list[Any]:
        values = []
        append = values.append
        memo = self.memo
        for index, field, attname, direct, kinds in self.plan:
            if direct:
                value = getattr(obj, attname)
            elif index in self.stamped:
                value = self.stamped[index]
                setattr(obj, attname, value)
            else:
                value = field.pre_save(obj, self.add)
            if value.__class__ in kinds:
                append(value)
                continue
            try:
                key = (index, value)
                prepared = memo[key]
            except KeyError:
                prepared = memo[key] = field.get_db_prep_save(value, self.connection)
            except TypeError:  # unhashable (e.g. a dict for a JSON field)
                prepared = field.get_db_prep_save(value, self.connection)
            append(prepared)
        return values


def _unnest(connection: Any, fields: Sequence[Field], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """PostgreSQL: ``SELECT … FROM unnest(%s::type[], …) AS u(…)`` giving the rows, with columns
    ``c0, c1, …``, and its parameters.

    One statement for any number of rows, whose text does not depend on how many rows there are,
    and one parameter per column: a value shared by every row (a status, a timestamp, ``NULL``)
    is passed once, the others as one array each. Django's psycopg cursor renders every parameter
    into the SQL text in Python, so this is far less work than a row of parameters per row, and
    the server plans one statement instead of one per row.
    """
    columns = [list(column) for column in zip(*rows)]
    varying = [n for n, column in enumerate(columns) if n == 0 or any(v != column[0] for v in column[1:])]
    shared = set(range(len(fields))) - set(varying)
    select, params = [], []
    for n, field in enumerate(fields):
        if n in shared:
            select.append(f"%s::{db_type(field, connection)} AS c{n}")
            params.append(columns[n][0])
        else:
            select.append(f"u.c{n}")
    arrays = ", ".join(f"%s::{db_type(fields[n], connection)}[]" for n in varying)
    aliases = ", ".join(f"c{n}" for n in varying)
    params += [columns[n] for n in varying]
    return f"SELECT {', '.join(select)} FROM unnest({arrays}) AS u({aliases})", params


def _columns(preparer: _Preparer, objects: Sequence[Any]) -> list[list[Any]]:
    """What :meth:`_Preparer.row` gives for each object, column by column: a value shared by
    every row (a status, ``None``, the batch's timestamp) is prepared once and the per-value
    work runs in list comprehensions, not once per row and field."""
    count = len(objects)
    memo = preparer.memo
    connection = preparer.connection
    columns = []
    for index, field, attname, direct, kinds in preparer.plan:
        if direct:
            column = [getattr(obj, attname) for obj in objects]
        elif index in preparer.stamped:
            value = preparer.stamped[index]
            for obj in objects:
                setattr(obj, attname, value)
            column = [value] * count
        else:
            column = [field.pre_save(obj, preparer.add) for obj in objects]
        first = column[0]
        if column.count(first) == count:  # one value for all: prepared once
            if first.__class__ not in kinds:
                first = field.get_db_prep_save(first, connection)
            columns.append([first] * count)
            continue
        if not kinds or any(value.__class__ not in kinds for value in column):
            prepared = []
            append = prepared.append
            for value in column:
                if value.__class__ in kinds:
                    append(value)
                    continue
                try:
                    key = (index, value)
                    append(memo[key])
                except KeyError:
                    append(memo.setdefault(key, field.get_db_prep_save(value, connection)))
                except TypeError:  # unhashable (e.g. a dict for a JSON field)
                    append(field.get_db_prep_save(value, connection))
            column = prepared
        columns.append(column)
    return columns


def _unnest_columns(connection: Any, fields: Sequence[Field], columns: Sequence[list[Any]]) -> tuple[str, list[Any]]:
    """:func:`_unnest` for values given column by column (see :func:`_columns`)."""
    select, params, varying = [], [], []
    for n, (field, column) in enumerate(zip(fields, columns)):
        if n and column.count(column[0]) == len(column):
            select.append(f"%s::{db_type(field, connection)} AS c{n}")
            params.append(column[0])
        else:
            select.append(f"u.c{n}")
            varying.append(n)
    arrays = ", ".join(f"%s::{db_type(fields[n], connection)}[]" for n in varying)
    aliases = ", ".join(f"c{n}" for n in varying)
    params += [columns[n] for n in varying]
    return f"SELECT {', '.join(select)} FROM unnest({arrays}) AS u({aliases})", params


def update_fields(
    objects: Sequence[Model],
    fields: Sequence[str],
    *,
    using: str = "default",
    only_if: Mapping[str, Any] | None = None,
) -> int:
    """Save ``fields`` of every object (all of one model); returns how many objects were given.

    Values go through each field's ``pre_save`` and ``get_db_prep_save`` as ``Model.save()`` would,
    so ``auto_now`` fields are stamped and values are adapted for the database.

    ``only_if`` makes it a compare-and-set: a row is written only if, in the database, each named
    field still holds the value given (or one of the values of a list or tuple). The return value
    is then how many rows were written.
    """
    if not objects:
        return 0
    connection = connections[using]
    if connection.vendor == "postgresql":
        sql, params = update_statement(objects, fields, connection, only_if=only_if)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount if only_if else len(objects)
    opts = objects[0]._meta
    concrete = [opts.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in concrete)
    sql = f"UPDATE {quote(opts.db_table)} SET {assignments} WHERE {quote(opts.pk.column)} = %s"
    condition = _condition(opts, only_if, connection)
    for field, values in condition:
        sql += f" AND {quote(field.column)} IN ({', '.join(['%s'] * len(values))})"
    preparer = _Preparer(concrete, connection, add=False)
    columns = _columns(preparer, objects)
    pk_attname = opts.pk.attname
    keys = [opts.pk.get_db_prep_save(getattr(obj, pk_attname), connection) for obj in objects]
    shared = [value for _, values in condition for value in values]
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(zip(*columns, keys, *[[value] * len(keys) for value in shared])))
        return cursor.rowcount if only_if else len(objects)


def _condition(opts: Any, only_if: Mapping[str, Any] | None, connection: Any) -> list[tuple[Field, list[Any]]]:
    """``only_if`` as (field, the values it may hold, in database form)."""
    condition = []
    for name, expected in (only_if or {}).items():
        field = opts.get_field(name)
        values = list(expected) if isinstance(expected, (list, tuple)) else [expected]
        condition.append((field, [field.get_db_prep_value(value, connection) for value in values]))
    return condition


def update_statement(
    objects: Sequence[Model],
    fields: Sequence[str],
    connection: Any,
    *,
    only_if: Mapping[str, Any] | None = None,
    returning: Sequence[str] = (),
) -> tuple[str, list[Any]]:
    """PostgreSQL: :func:`update_fields` as SQL and parameters, one ``UPDATE … FROM unnest(…)``
    whatever the number of rows, to run alone or inside a ``WITH``. ``returning`` names columns
    (attnames) the statement returns for the rows it wrote."""
    opts = objects[0]._meta
    concrete = [opts.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    preparer = _Preparer(concrete, connection, add=False)
    columns = _columns(preparer, objects)
    pk_attname = opts.pk.attname
    keys = [opts.pk.get_db_prep_save(getattr(obj, pk_attname), connection) for obj in objects]
    # The primary key first: it always varies, so it is an array (see _unnest).
    source, params = _unnest_columns(connection, [opts.pk, *concrete], [keys, *columns])
    table = quote(opts.db_table)
    sets = ", ".join(f"{quote(field.column)} = u.c{i + 1}" for i, field in enumerate(concrete))
    sql = f"UPDATE {table} SET {sets} FROM ({source}) AS u WHERE {table}.{quote(opts.pk.column)} = u.c0"
    for field, values in _condition(opts, only_if, connection):
        sql += f" AND {table}.{quote(field.column)} IN ({', '.join(['%s'] * len(values))})"
        params += values
    if returning:
        sql += " RETURNING " + ", ".join(f"{table}.{quote(opts.get_field(name).column)}" for name in returning)
    return sql, params


def insert_ignoring_conflicts(
    objects: Sequence[Mapping[str, Any]],
    *,
    model: type[Model],
    using: str = "default",
    only_if_exists: tuple[type[Model], str, Mapping[str, Any]] | None = None,
) -> int:
    """Insert new rows of ``model`` (primary keys from the database), skipping rows that break a
    unique constraint — ``bulk_create(ignore_conflicts=True)`` without its per-value overhead.
    Returns how many rows were given.

    ``only_if_exists=(Model, "fk_attname", {"field": value})`` inserts a row only if the row of
    ``Model`` its foreign key points to still has those values (checked by the same statement,
    e.g. "only for enrollments that are still active").

    ``objects`` are plain rows: values by attname over the fields' defaults, as for
    :func:`insert_rows`.
    """
    if not objects:
        return 0
    connection = connections[using]
    if connection.vendor == "postgresql":
        sql, params = insert_ignoring_conflicts_statement(objects, model, connection, only_if_exists=only_if_exists)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return len(objects)
    opts = model._meta
    concrete = [f for f in opts.concrete_fields if not f.primary_key and not f.generated]
    quote = connection.ops.quote_name
    ops = connection.ops
    columns = ", ".join(quote(field.column) for field in concrete)
    suffix = ops.on_conflict_suffix_sql(concrete, OnConflict.IGNORE, None, None) or ""
    insert = f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {quote(opts.db_table)} ({columns})"
    # A field not given is its default, prepared once per process (_Table).
    columns = _table(model, connection).prepared_columns(objects, connection)
    params = list(zip(*columns))
    if only_if_exists is None:
        placeholders = ", ".join(["%s"] * len(concrete))
        sql = f"{insert} VALUES ({placeholders}) {suffix}"
    else:
        model, attname, expected = only_if_exists
        target = model._meta
        values = ", ".join(["%s"] * len(concrete))
        conditions = [f"{quote(target.pk.column)} = %s"]
        extra: list[Any] = []
        for name, value in expected.items():
            field = target.get_field(name)
            conditions.append(f"{quote(field.column)} = %s")
            extra.append(field.get_db_prep_value(value, connection))
        index = [f.attname for f in concrete].index(attname)
        sql = (
            f"{insert} SELECT {values} WHERE EXISTS (SELECT 1 FROM {quote(target.db_table)} "
            f"WHERE {' AND '.join(conditions)}) {suffix}"
        )
        params = [(*row, row[index], *extra) for row in params]
    with connection.cursor() as cursor:
        cursor.executemany(sql.strip(), params)
    return len(objects)


def insert_ignoring_conflicts_statement(
    objects: Sequence[Mapping[str, Any]],
    model: type[Model],
    connection: Any,
    *,
    only_if_exists: tuple[type[Model], str, Mapping[str, Any]] | None = None,
    only_if_in: tuple[str, str] | None = None,
) -> tuple[str, list[Any]]:
    """PostgreSQL: :func:`insert_ignoring_conflicts` as SQL and parameters, one ``INSERT …
    SELECT … FROM unnest(…)``, to run alone or inside a ``WITH``.

    ``only_if_in=(attname, subquery)`` also inserts a row only if its ``attname`` is among what
    ``subquery`` (e.g. a ``SELECT`` from an earlier query of the ``WITH``) returns; the
    subquery's own parameters, if any, go after those returned.
    """
    opts = model._meta
    concrete = [f for f in opts.concrete_fields if not f.primary_key and not f.generated]
    attnames = [f.attname for f in concrete]
    quote = connection.ops.quote_name
    ops = connection.ops
    suffix = ops.on_conflict_suffix_sql(concrete, OnConflict.IGNORE, None, None) or ""
    insert = (
        f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {quote(opts.db_table)} "
        f"({', '.join(quote(field.column) for field in concrete)})"
    )
    # A field not given is its default, prepared once per process (_Table).
    columns = _table(model, connection).prepared_columns(objects, connection)
    source, params = _unnest_columns(connection, concrete, columns)
    sql = f"{insert} SELECT * FROM ({source}) AS u"
    where = []
    if only_if_exists is not None:
        target_model, attname, expected = only_if_exists
        target = target_model._meta
        index = attnames.index(attname)
        # The keys again as one array: the target rows are then probed by primary key. With
        # only the correlation the planner may read and hash every row with those values
        # (every active enrollment, for a chunk of fifty).
        key = f"t.{quote(target.pk.column)}"
        conditions = [f"{key} = u.c{index}", f"{key} = ANY(%s::{db_type(concrete[index], connection)}[])"]
        params.append(list(columns[index]))
        for name, value in expected.items():
            field = target.get_field(name)
            conditions.append(f"t.{quote(field.column)} = %s")
            params.append(field.get_db_prep_value(value, connection))
        where.append(f"EXISTS (SELECT 1 FROM {quote(target.db_table)} t WHERE {' AND '.join(conditions)})")
    if only_if_in is not None:
        attname, subquery = only_if_in
        where.append(f"u.c{attnames.index(attname)} IN ({subquery})")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return f"{sql} {suffix}".strip(), params


# -- plain rows: inserting values without model instances ---------------------------------------
# Checkout pays for every row enrollment writes. Building a model instance per row (descriptors,
# signals) and preparing each of its values through the field's methods cost more than the
# database; here a row is a dict of values by attname, and what the model's fields need (columns,
# defaults in database form, the types whose database form is the value itself) is worked out
# once per process, model and database.

_STAMP, _FIXED, _CALL = "stamp", "fixed", "call"
# How a column's values are given (_Table.values_of).
_VARYING, _SHARED, _DEFAULT = "varying", "shared", "default"


class _Table:
    """How to insert plain rows of one model on one database."""

    def __init__(self, model: type[Model], connection: Any):
        opts = model._meta
        self.model = model
        self.fields = [f for f in opts.concrete_fields if not f.primary_key and not f.generated]
        self.attnames = [f.attname for f in self.fields]
        self.table = connection.ops.quote_name(opts.db_table)
        self.columns = [connection.ops.quote_name(f.column) for f in self.fields]
        self.db_types = [f.db_type(connection) for f in self.fields]
        self.pk = opts.pk
        # Per field: (how a missing value is made, the value or callable, the value's Python form).
        self.defaults: list[tuple[str, Any, Any]] = []
        for field in self.fields:
            default = field.default if field.has_default() else None
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) or default is timezone.now:
                # One timestamp per statement, as Model.save() stamps one per row.
                self.defaults.append((_STAMP, None, None))
            elif callable(default):  # uuid4, dict…: a fresh value per row
                self.defaults.append((_CALL, default, None))
            else:
                value = field.get_default()
                self.defaults.append((_FIXED, field.get_db_prep_save(value, connection), value))
        self._literals: dict[int, str | None] = {}
        # SQL text of the statements made so far (PostgreSQL), by how each column is given.
        self.statements: dict[tuple[Any, ...], str] = {}
        self.kinds = []
        for field in self.fields:
            target = field
            # A key to a key (a page's page_ptr) has the type of the last one.
            while target is not None and target.is_relation:
                target = getattr(target, "target_field", None)
            self.kinds.append(_PASS_THROUGH.get(target.get_internal_type(), ()) if target is not None else ())

    def python_defaults(self, now: Any) -> dict[str, Any]:
        """Every field's default in Python form (callables called), for building instances."""
        values = {}
        for attname, (how, default, value) in zip(self.attnames, self.defaults):
            values[attname] = now if how == _STAMP else default() if how == _CALL else value
        return values

    def prepared_columns(self, rows: Sequence[Mapping[str, Any]], connection: Any) -> list[list[Any]]:
        """The rows' values in database form, column by column (missing values: the defaults).
        A value repeated in a column is prepared once."""
        count = len(rows)
        return [
            values if how == _VARYING else [values] * count for how, values in self.values_of(rows, connection)
        ]

    def values_of(self, rows: Sequence[Mapping[str, Any]], connection: Any) -> list[tuple[str, Any]]:
        """The rows' values in database form, per column ``(how, values)``: ``_VARYING`` and a
        list of one value per row, or, when every row has the same value, ``_SHARED`` and that
        value, prepared once — ``_DEFAULT`` when it is the field's fixed default (which
        :meth:`literal` can write into the SQL instead)."""
        count = len(rows)
        keys = rows[0].keys()
        # Usually every row has the same fields: a column is then read with one comprehension.
        uniform = all(row.keys() == keys for row in rows)
        given = keys if uniform else set().union(*rows)
        stamp: Any = None
        result: list[tuple[str, Any]] = []
        columns = zip(self.fields, self.attnames, self.defaults, self.kinds)
        for field, attname, (how, default, python), kinds in columns:
            if attname not in given:
                if how == _FIXED:
                    result.append((_DEFAULT, default))
                    continue
                if how == _STAMP:
                    stamp = stamp or timezone.now()
                    result.append((_SHARED, field.get_db_prep_save(stamp, connection)))
                    continue
                column = [default() for _ in rows]
            elif uniform:
                column = [row[attname] for row in rows]
            else:
                column = []
                for row in rows:
                    value = row.get(attname, _MISSING)
                    if value is _MISSING:
                        if how == _STAMP:
                            value = stamp = stamp or timezone.now()
                        else:
                            value = default() if how == _CALL else python
                    column.append(value)
            first = column[0]
            if count == 1 or column.count(first) == count:  # one value for every row: prepared once
                if how == _FIXED and (
                    first is python or (first.__class__ is python.__class__ and first == python)
                ):
                    result.append((_DEFAULT, default))
                elif first.__class__ in kinds:
                    result.append((_SHARED, first))
                else:
                    result.append((_SHARED, field.get_db_prep_save(first, connection)))
                continue
            if kinds and all(value.__class__ in kinds for value in column):
                result.append((_VARYING, column))
                continue
            prepared = []
            memo: dict[Any, Any] = {}
            by_id: dict[int, Any] = {}  # unhashable values (a dict for a JSON field), by identity
            for value in column:
                if value.__class__ in kinds:
                    prepared.append(value)
                    continue
                try:
                    prepared.append(memo[value])
                except KeyError:
                    memo[value] = field.get_db_prep_save(value, connection)
                    prepared.append(memo[value])
                except TypeError:
                    try:
                        prepared.append(by_id[id(value)])
                    except KeyError:
                        by_id[id(value)] = field.get_db_prep_save(value, connection)
                        prepared.append(by_id[id(value)])
            result.append((_VARYING, prepared))
        return result

    def literal(self, index: int, connection: Any) -> str | None:
        """PostgreSQL: the fixed default of field ``index`` as SQL (e.g. ``''::varchar(150)``),
        or None when it is not a plain value. A column every row leaves at its default then costs
        no parameter: psycopg caches how it parses a statement only up to 50 parameters, and
        renders each one into the SQL text in Python at every call."""
        try:
            return self._literals[index]
        except KeyError:
            pass
        how, default, _ = self.defaults[index]
        text = None
        plain = default is None or type(default) in (bool, int) or isinstance(default, str)
        if how == _FIXED and plain:
            # str.__str__ gives a plain str of a str subclass (a TextChoices member).
            value = str.__str__(default) if isinstance(default, str) else default
            text = connection.ops.compose_sql("%s", [value]).replace("%", "%%")
            text = f"{text}::{self.db_types[index]}"
        self._literals[index] = text
        return text


_MISSING = object()
_tables: dict[tuple[type[Model], str], _Table] = {}


def _table(model: type[Model], connection: Any) -> _Table:
    try:
        return _tables[(model, connection.alias)]
    except KeyError:
        table = _tables[(model, connection.alias)] = _Table(model, connection)
        return table


def insert_statement(
    model: type[Model],
    rows: Sequence[Mapping[str, Any]],
    connection: Any,
    *,
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
    join: tuple[str, str, str, str] | None = None,
) -> tuple[str, list[Any]]:
    """``INSERT`` of ``rows`` (values by attname over the fields' defaults) as SQL and parameters:
    one statement whatever the number of rows, to run alone or inside a ``WITH`` (PostgreSQL).

    ``ignore_conflicts`` skips rows that break a unique constraint; ``returning`` names columns
    (attnames, ``"pk"`` for the primary key) the statement returns for the rows it inserted.
    ``join=(attname, cte, value, match)`` (PostgreSQL): the row's ``attname`` holds a value of
    column ``match`` of the ``WITH`` query ``cte``; the inserted value is that row's ``value``
    column (e.g. a delivery's ``enrollment_id`` from the enrollments just inserted, matched by
    ``sequence_id``). Rows without a match are not inserted. With ``match`` None, ``cte`` has
    one row (or none: nothing is inserted) whose ``value`` every row takes (a contact just
    inserted).
    """
    table = _table(model, connection)
    values = table.values_of(rows, connection)
    if connection.vendor != "postgresql":
        if join is not None:  # pragma: no cover - a programming error
            raise ValueError("join is for PostgreSQL's WITH queries")
        count = len(rows)
        columns = [column if how == _VARYING else [column] * count for how, column in values]
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        values_sql = f"VALUES {', '.join([placeholders] * count)}"
        sql = _insert_sql(table, connection, ignore_conflicts, returning, values_sql)
        return sql, [value for row in zip(*columns) for value in row]
    # PostgreSQL: INSERT … SELECT … FROM unnest(…). A column every row leaves at its fixed default
    # is written into the SQL, a value shared by every row is passed once, the others as one
    # array per column (at least one, so the rows are counted): the SQL text does not grow with
    # the rows, psycopg renders few parameters, and the text is made once per shape and process.
    joined = table.attnames.index(join[0]) if join is not None else -1
    single = joined if join is not None and join[3] is None else -1  # from the WITH query's one row
    shape, params, arrays = [], [], []
    counted = False
    for n, (how, column) in enumerate(values):
        if n == single:
            shape.append(None)
            continue
        if n == joined or not counted:  # an array: the join matches on it, or it counts the rows
            counted = True
            if how != _VARYING:
                column = [column] * len(rows)
            how = _VARYING
        elif how == _DEFAULT and table.literal(n, connection) is None:
            how = _SHARED
        shape.append(how)
        if how == _SHARED:
            params.append(column)
        elif how == _VARYING:
            arrays.append(column)
    key = (tuple(shape), ignore_conflicts, tuple(returning), join)
    try:
        sql = table.statements[key]
    except KeyError:
        if len(table.statements) >= 256:  # shapes come from a few call sites; a bound all the same
            table.statements.clear()
        sql = _unnest_insert_sql(table, connection, shape, ignore_conflicts, returning, join)
        table.statements[key] = sql
    return sql, params + arrays


def _insert_sql(table: _Table, connection: Any, ignore_conflicts: bool, returning: Sequence[str], source: str) -> str:
    """``INSERT INTO table (columns) {source}`` with the conflict and ``RETURNING`` clauses."""
    ops = connection.ops
    quote = ops.quote_name
    sql = (
        f"{ops.insert_statement(on_conflict=OnConflict.IGNORE if ignore_conflicts else None)} "
        f"{table.table} ({', '.join(table.columns)}) {source}"
    )
    if ignore_conflicts:
        conflict = ops.on_conflict_suffix_sql(table.fields, OnConflict.IGNORE, None, None)
        sql += f" {conflict}" if conflict else ""
    if returning:
        names = [table.pk.column if name == "pk" else table.model._meta.get_field(name).column for name in returning]
        sql += f" RETURNING {', '.join(quote(name) for name in names)}"
    return sql


def _unnest_insert_sql(table: _Table, connection: Any, shape: Sequence[str | None], ignore_conflicts: bool,
                       returning: Sequence[str], join: tuple[str, str, str, str] | None) -> str:
    """The SQL of :func:`insert_statement` on PostgreSQL for columns given as ``shape`` says
    (None: the column joined to the ``WITH`` query's single row); parameters: the shared values,
    then the arrays, in column order."""
    quote = connection.ops.quote_name
    select, arrays, aliases = [], [], []
    for n, (how, db_type) in enumerate(zip(shape, table.db_types)):
        if how is None:
            select.append("")
        elif how == _DEFAULT:
            select.append(table.literal(n, connection))
        elif how == _SHARED:
            select.append(f"%s::{db_type}")
        else:
            select.append(f"u.c{n}")
            arrays.append(f"%s::{db_type}[]")
            aliases.append(f"c{n}")
    source = f"unnest({', '.join(arrays)}) AS u({', '.join(aliases)})"
    if join is not None:
        attname, cte, value, match = join
        joined = table.attnames.index(attname)
        select[joined] = f"j.{quote(value)}"
        if match is None:
            source += f" CROSS JOIN {cte} j"
        else:
            source += f" JOIN {cte} j ON j.{quote(match)} = u.c{joined}"
    return _insert_sql(table, connection, ignore_conflicts, returning, f"SELECT {', '.join(select)} FROM {source}")


def insert_rows(
    model: type[Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    using: str = "default",
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert new rows (values by attname over the fields' defaults) with one statement — no
    model instance, no signals. Returns the ``returning`` columns of the rows inserted (see
    :func:`insert_statement`)."""
    if not rows:
        return []
    connection = connections[using]
    sql, params = insert_statement(model, rows, connection, ignore_conflicts=ignore_conflicts, returning=returning)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def instances(model: type[Model], rows: Sequence[Mapping[str, Any]], *, using: str, now: Any = None,
              related: Mapping[str, Any] | None = None) -> list[Model]:
    """Saved instances of ``model`` from rows just inserted (values by attname, with the primary
    key), without ``Model.__init__``'s per-field work: missing values are the fields' defaults
    (``now`` for timestamps), ``related`` fills the related-object cache (e.g. ``{"contact": c}``)."""
    from django.db.models.base import ModelState

    table = _table(model, connections[using])
    defaults = table.python_defaults(now)
    # Defaults made by a callable (a dict…) are made again for each row that lacks the value.
    fresh = [(attname, default) for attname, (how, default, _) in zip(table.attnames, table.defaults) if how == _CALL]
    made = []
    for values in rows:
        obj = model.__new__(model)
        state = ModelState()
        state.adding, state.db = False, using
        if related:
            state.fields_cache = {name: value(values) if callable(value) else value for name, value in related.items()}
        attributes = obj.__dict__
        attributes.update(defaults)
        for attname, default in fresh:
            if attname not in values:
                attributes[attname] = default()
        attributes.update(values)
        obj._state = state
        made.append(obj)
    return made


def insert_new(objects: Sequence[Model], *, key: Sequence[str], using: str = "default") -> list[Model]:
    """Insert ``objects`` (all of one model) in one statement, skipping any that break a unique
    constraint, and return those inserted with their primary keys set.

    ``key`` names the fields (attnames) that tell the objects apart, e.g. ``("email",)``: rows the
    database returns are matched to objects by them. Unlike ``bulk_create`` in an atomic block, a
    conflict (another process inserted the same row first) costs no savepoint and no exception.
    """
    if not objects:
        return []
    table = _table(type(objects[0]), connections[using])
    pk = table.pk.attname
    returned = insert_rows(
        type(objects[0]),
        [{name: getattr(obj, name) for name in table.attnames} for obj in objects],
        using=using, ignore_conflicts=True, returning=("pk", *key),
    )
    by_key = {tuple(str(getattr(obj, name)) for name in key): obj for obj in objects}
    created = []
    for pk_value, *values in returned:
        obj = by_key.get(tuple(str(v) for v in values))
        if obj is not None:
            setattr(obj, pk, pk_value)
            obj._state.adding = False
            obj._state.db = using
            created.append(obj)
    order = {id(obj): n for n, obj in enumerate(objects)}
    return sorted(created, key=lambda obj: order[id(obj)])
