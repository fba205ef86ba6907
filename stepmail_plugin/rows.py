"""Plain rows for the dispatcher's per-batch reads, without building an ORM query each time.

A batch of mails reads a dozen small result sets keyed by lists of ids or addresses. Through the
ORM every such read compiles a query and prepares every value of its ``IN`` list one by one,
which cost more than the database's own work. The few hot reads write their SQL here from the
models' metadata (table and column names, so swapped Oscar models work too) and convert values
with Django's own converters of the fields they read, so they get exactly what the ORM would
return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

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


def placeholders(values: Sequence[Any]) -> str:
    """``%s, %s, …`` for an ``IN (…)`` list of ``values`` (never empty: callers check)."""
    return ", ".join(["%s"] * len(values))


def converter(field: Field, connection: Any) -> Converter | None:
    """What the ORM applies to a value of ``field`` read from this database, or None if nothing."""
    expression = field.get_col(field.model._meta.db_table)
    functions = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
    if not functions:
        return None

    def convert(value: Any) -> Any:
        for function in functions:
            value = function(value, expression, connection)
        return value

    return convert


def fetch(sql: str, params: Iterable[Any], converters: Sequence[Converter | None] = (), *,
          using: str = "default") -> list[tuple]:
    """The rows of ``sql``; column ``i`` goes through ``converters[i]`` when there is one."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    active = [(i, c) for i, c in enumerate(converters) if c is not None]
    if not active or not rows:
        return [tuple(row) for row in rows]
    converted = []
    for row in rows:
        row = list(row)
        for i, convert in active:
            row[i] = convert(row[i])
        converted.append(tuple(row))
    return converted
