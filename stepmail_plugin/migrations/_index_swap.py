"""What migrations 0012 and 0013 share: replacing the indexes Django's ``db_index`` made for some
fields by fewer (or partial) ``Meta`` indexes, without a moment in which look-ups lose their
index, and back. The migration loader skips modules whose name starts with "_"."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any


def _concurrently(schema_editor: Any) -> dict:
    """``CONCURRENTLY`` on PostgreSQL: mail keeps going out while an index is built or dropped."""
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def swap_field_indexes(model_name: str, fields: Sequence[str], new: Sequence[Any]) -> tuple[Callable, Callable]:
    """``RunPython`` forwards and backwards functions for ``stepmail.<model_name>``: forwards
    builds ``new`` first, then drops the single-column, non-unique indexes on the columns of
    ``fields`` (found by introspection, whatever their names); backwards recreates those indexes
    as the fields' ``db_index=True`` made them (on PostgreSQL with the ``varchar_pattern_ops``
    twin of a text field), then drops ``new``."""
    ours = {index.name for index in new}

    def field_indexes(schema_editor: Any, model: Any) -> list[str]:
        columns = {model._meta.get_field(name).column for name in fields}
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        return sorted(
            name for name, info in constraints.items()
            if info["index"] and not info["unique"] and not info["primary_key"]
            and len(info["columns"]) == 1 and info["columns"][0] in columns and name not in ours
        )

    def forwards(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model("stepmail", model_name)
        existing = field_indexes(schema_editor, model)
        for index in new:
            schema_editor.add_index(model, index, **_concurrently(schema_editor))
        for name in existing:
            schema_editor.execute(schema_editor._delete_index_sql(model, name, **_concurrently(schema_editor)))

    def backwards(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model("stepmail", model_name)
        for name in fields:
            old = copy.copy(model._meta.get_field(name))
            old.db_index = True
            for statement in schema_editor._field_indexes_sql(model, old):
                sql = str(statement)
                if schema_editor.connection.vendor == "postgresql":
                    sql = sql.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)
                schema_editor.execute(sql, params=None)
        for index in new:
            schema_editor.remove_index(model, index, **_concurrently(schema_editor))

    return forwards, backwards
