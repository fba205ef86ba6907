"""Plain rows for the dispatcher's per-batch reads, without building an ORM query each time.

A batch of mails reads a dozen small result sets keyed by lists of ids or addresses. Through the
ORM every such read compiles a query and prepares every value of its ``IN`` list one by one,
which cost more than the database's own work. The few hot reads write their SQL here from the
models' metadata (table and column names, so swapped Oscar models work too) and convert values
with Django's own converters of the fields they read, so they get exactly what the ORM would
return. :func:`builder` turns a row into a model instance as ``Model.from_db`` does, without
``Model.__init__``'s per-field work when the model allows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Field, Model

Converter = Callable[[Any], Any]


def table(model: type[Model], connection: Any) -> str:
    """The quoted table name of ``model``."""
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], name: str, connection: Any, alias: str = "") -> str:
    """The quoted column of field ``name`` of ``model``, prefixed with ``alias.`` when given."""
    quoted = connection.ops.quote_name(model._meta.get_field(name).column)
    return f"{alias}.{quoted}" if alias else quoted


def cursor(connection: Any, *, server_binding: bool = False) -> Any:
    """``connection.cursor()`` for the plugin's own hot statements (a Django cursor wrapper, so
    execute wrappers and query logging see them).

    On PostgreSQL with psycopg 3 and ``USE_TZ``, timestamps are read by psycopg's compiled
    loader: Django's (a Python subclass, hence never replaced by the compiled one) parses each
    date in Python, which was two fifths of reading a claimed batch. Both give the same instant
    in the connection's time zone, aware.

    ``server_binding=True`` also sends the parameters apart from the SQL (psycopg's server-side
    binding) instead of rendering each into the statement's text in Python, which is most of
    the client's cost of a statement with arrays of hundreds of values. Only for statements
    whose every parameter has a type PostgreSQL can infer (cast where it cannot).
    """
    wrapper = connection.cursor()
    if connection.vendor == "postgresql" and settings.USE_TZ:
        fast = _fast_postgresql()
        if fast is not None:
            loader, server_cursor = fast
            if server_binding:
                inner = wrapper.cursor
                wrapper.cursor = server_cursor(inner.connection)
                inner.close()
            wrapper.cursor.adapters.register_loader("timestamptz", loader)
    return wrapper


@cache
def _fast_postgresql() -> tuple[Any, Any] | None:
    """psycopg's timestamptz loader and Django's server-side binding cursor class (None with
    psycopg 2)."""
    try:
        from django.db.backends.postgresql.base import ServerBindingCursor
        from psycopg.types.datetime import TimestamptzLoader
    except ImportError:
        return None
    return TimestamptzLoader, ServerBindingCursor


def placeholders(values: Sequence[Any]) -> str:
    """``%s, %s, …`` for an ``IN (…)`` list of ``values`` (never empty: callers check)."""
    return ", ".join(["%s"] * len(values))


def among(expression: str, values: Sequence[Any], field: Field, connection: Any) -> tuple[str, list[Any]]:
    """``expression IN (values)`` as SQL and its parameters, for values of ``field``'s type.

    On PostgreSQL one array parameter (``= ANY(%s::type[])``): Django's psycopg cursor renders
    every parameter into the SQL text in Python and the server parses each again, which for a
    batch's hundred ids cost more than the look-ups themselves (0.5 against 0.27 ms)."""
    if connection.vendor == "postgresql":
        return f"{expression} = ANY(%s::{db_type(field, connection)}[])", [list(values)]
    return f"{expression} IN ({placeholders(values)})", list(values)


_db_types: dict[tuple[str, Field], str | None] = {}


def db_type(field: Field, connection: Any) -> str | None:
    """``field.db_type(connection)``, worked out once per field and database (for a foreign key
    Django builds a field of the target's type on every call)."""
    key = (connection.alias, field)
    try:
        return _db_types[key]
    except KeyError:
        value = _db_types[key] = field.db_type(connection)
        return value


def converter(field: Field, connection: Any) -> Converter | None:
    """What the ORM applies to a value of ``field`` read from this database, or None if nothing."""
    expression = field.get_col(field.model._meta.db_table)
    backend = connection.ops.get_db_converters(expression)
    own = expression.get_db_converters(connection)  # the field's from_db_value, if it has one
    functions = backend + own
    if not functions:
        return None
    if not own and connection.vendor == "sqlite" and field.get_internal_type() == "DateTimeField":
        convert = _sqlite_datetime(connection)
    else:
        def convert(value: Any) -> Any:
            # The backends' converters keep None as it is; a field's own from_db_value may not.
            if value is None and not own:
                return None
            for function in functions:
                value = function(value, expression, connection)
            return value

    if not own and field.get_internal_type() in _IMMUTABLE:
        convert.many = _memoised(convert)  # type: ignore[attr-defined]
    return convert


def _sqlite_datetime(connection: Any) -> Converter:
    """SQLite's ``convert_datetimefield_value`` without its per-value setting and helper look-ups
    (a batch reads about a thousand dates): parsed if still text (``parse_datetime``'s own first
    try, ``datetime.fromisoformat``, called directly), then made aware in the connection's zone
    when ``USE_TZ``."""
    from datetime import datetime

    from django.conf import settings
    from django.utils.dateparse import parse_datetime

    zone = connection.timezone if settings.USE_TZ else None
    fromisoformat = datetime.fromisoformat

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            try:
                value = fromisoformat(value)
            except ValueError:  # what parse_datetime accepts beyond ISO 8601 (or None)
                value = parse_datetime(value)
        if zone is not None and (value.tzinfo is None or value.utcoffset() is None):
            value = value.replace(tzinfo=zone)
        return value

    return convert


#: Fields whose values are immutable: rows sharing a database value may share the converted one.
#: (Not decimals: equal values with different exponents would be merged.)
_IMMUTABLE = {"DateTimeField", "DateField", "UUIDField", "BooleanField"}


def _memoised(convert: Converter) -> Callable[[Sequence[Any]], list[Any]]:
    """Convert a column, each distinct value once (a batch's rows share their claim token, its
    timestamp and many other dates)."""

    def many(values: Sequence[Any]) -> list[Any]:
        memo: dict[Any, Any] = {}
        out = []
        append = out.append
        for value in values:
            try:
                append(memo[value])
            except KeyError:
                append(memo.setdefault(value, convert(value)))
            except TypeError:  # unhashable (a custom backend's value)
                append(convert(value))
        return out

    return many


def fetch(sql: str, params: Iterable[Any], converters: Sequence[Converter | None] = (), *,
          using: str = "default") -> list[tuple]:
    """The rows of ``sql``; column ``i`` goes through ``converters[i]`` when there is one.

    Through :func:`cursor` with server-side binding on PostgreSQL: every parameter of ``sql``
    must have a type the server can infer (compared with a column, or cast)."""
    return convert(fetch_raw(sql, params, using=using), converters)


def fetch_raw(sql: str, params: Iterable[Any], *, using: str = "default") -> list[tuple]:
    """The rows of ``sql`` as the driver returns them (see :func:`fetch`); :func:`convert` them."""
    with cursor(connections[using], server_binding=True) as cur:
        cur.execute(sql, list(params))
        return cur.fetchall()


def convert(rows: list[Any], converters: Sequence[Converter | None] = ()) -> list[tuple]:
    """``rows`` with column ``i`` put through ``converters[i]`` when there is one."""
    active = [(i, c) for i, c in enumerate(converters) if c is not None]
    if not active or not rows:
        return [tuple(row) for row in rows]
    # Column by column: one list per converted column (``map`` or a converter's ``many``), then
    # the rows zipped back together, instead of copying and rebuilding every row in Python.
    columns = list(zip(*rows))
    for i, convert in active:
        many = getattr(convert, "many", None)
        columns[i] = many(columns[i]) if many is not None else list(map(convert, columns[i]))
    return list(zip(*columns))


# -- model instances ---------------------------------------------------------------------------
_converters: dict[tuple[str, Field], Converter | None] = {}
_plain: dict[type[Model], bool] = {}


def _converter(field: Field, connection: Any) -> Converter | None:
    key = (connection.alias, field)
    if key not in _converters:
        _converters[key] = converter(field, connection)
    return _converters[key]


def select_list(model: type[Model], connection: Any, alias: str) -> tuple[str, list[Field]]:
    """``alias.col, alias.col…`` of every concrete field of ``model``, and those fields, in the
    order :func:`build` expects them."""
    fields = list(model._meta.concrete_fields)
    return ", ".join(column(model, f.name, connection, alias) for f in fields), fields


def converters_for(fields: Sequence[Field], connection: Any) -> list[Converter | None]:
    """Django's converters for these fields' columns on this database."""
    return [_converter(f, connection) for f in fields]


def _is_plain(model: type[Model]) -> bool:
    """Whether an instance of ``model`` is nothing but its field values: no ``__init__`` or
    ``from_db`` of its own and plain field attributes. Then :func:`build` may fill one in directly
    (what ``Model.__init__`` does, without its per-field work)."""
    if model not in _plain:
        from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
        from django.db.models.query_utils import DeferredAttribute

        _plain[model] = (
            model.__init__ is Model.__init__
            and model.from_db.__func__ is Model.from_db.__func__
            and all(type(model.__dict__.get(f.attname, getattr(model, f.attname, None)))
                    in (DeferredAttribute, ForeignKeyDeferredAttribute)
                    for f in model._meta.concrete_fields)
        )
    return _plain[model]


def builder(model: type[Model], db: str) -> Callable[[Sequence[Any]], Model]:
    """A function making the instance of ``model`` from (converted) values of all its concrete
    fields, in ``concrete_fields`` order, as ``Model.from_db`` makes it. Through ``from_db`` itself
    when the model is not plain or someone listens to ``pre_init``/``post_init``."""
    from django.db.models import signals
    from django.db.models.base import ModelState

    if not _is_plain(model) or signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return lambda values: model.from_db(db, None, list(values))
    attnames = [f.attname for f in model._meta.concrete_fields]
    new = model.__new__

    def make(values: Sequence[Any]) -> Model:
        obj = new(model)
        state = ModelState()
        state.adding = False
        state.db = db
        obj._state = state
        obj.__dict__.update(zip(attnames, values))
        return obj

    return make
