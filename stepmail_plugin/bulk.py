"""Writing many rows at once, faster than the ORM's ``bulk_update``.

``QuerySet.bulk_update`` builds a ``CASE WHEN pk = … THEN …`` expression for every field and row,
which costs about a millisecond of Python per row: more than rendering and sending a mail. Here
the same UPDATE runs once per row through one ``executemany`` (one round trip with psycopg 3's
pipeline, one statement for SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections
from django.db.models import Model


def update_fields(objects: Sequence[Model], fields: Sequence[str], *, using: str = "default") -> int:
    """Save ``fields`` of every object (all of one model); returns how many objects were given.

    Values go through each field's ``pre_save`` and ``get_db_prep_save`` as ``Model.save()`` would,
    so ``auto_now`` fields are stamped and values are adapted for the database.
    """
    if not objects:
        return 0
    connection = connections[using]
    opts = objects[0]._meta
    concrete = [opts.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in concrete)
    sql = f"UPDATE {quote(opts.db_table)} SET {assignments} WHERE {quote(opts.pk.column)} = %s"
    params = [
        [field.get_db_prep_save(field.pre_save(obj, False), connection) for field in concrete]
        + [opts.pk.get_db_prep_save(obj.pk, connection)]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(objects)
