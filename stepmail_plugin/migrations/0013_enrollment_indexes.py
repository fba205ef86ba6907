"""Fewer indexes on enrollments, as 0012 did for deliveries: checkout inserts one enrollment per
matching sequence, and every index is written for each.

* ``sequence_id`` loses its own index: the unique (sequence, contact, key) constraint leads with it.
* ``object_type_id`` loses its own index: the (object_type, object_id) index leads with it.
* ``status`` keeps one index (a ``Meta`` index) but not the ``varchar_pattern_ops`` twin a
  CharField's ``db_index`` adds on PostgreSQL: statuses are only ever compared whole.

New indexes first, then the old ones dropped (found by introspection); ``CONCURRENTLY`` on
PostgreSQL, hence a non-atomic migration, as in 0010 and 0012.
"""

import django.db.models.deletion
from django.db import migrations, models

#: The columns whose field-made (``db_index``) indexes this migration replaces or drops.
COLUMNS = ("sequence_id", "object_type_id", "status")
#: The fields as they were, for the way back.
OLD_FIELDS = ("sequence", "object_type", "status")
NEW = (models.Index(fields=["status"], name="stepmail_enrollment_status"),)


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def _field_indexes(schema_editor, model) -> list[str]:
    """Names of the single-column, non-unique indexes on COLUMNS other than this migration's."""
    connection = schema_editor.connection
    ours = {index.name for index in NEW}
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return sorted(
        name for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"]
        and len(info["columns"]) == 1 and info["columns"][0] in COLUMNS and name not in ours
    )


def forwards(apps, schema_editor) -> None:
    model = apps.get_model("stepmail", "Enrollment")
    existing = _field_indexes(schema_editor, model)
    for index in NEW:
        schema_editor.add_index(model, index, **_concurrently(schema_editor))
    for name in existing:
        schema_editor.execute(schema_editor._delete_index_sql(model, name, **_concurrently(schema_editor)))


def backwards(apps, schema_editor) -> None:
    import copy

    model = apps.get_model("stepmail", "Enrollment")
    for name in OLD_FIELDS:
        # The field as it was (db_index=True): the same index names and, on PostgreSQL, the
        # pattern index of status.
        old = copy.copy(model._meta.get_field(name))
        old.db_index = True
        for statement in schema_editor._field_indexes_sql(model, old):
            sql = str(statement)
            if schema_editor.connection.vendor == "postgresql":
                sql = sql.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)
            schema_editor.execute(sql, params=None)
    for index in NEW:
        schema_editor.remove_index(model, index, **_concurrently(schema_editor))


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("stepmail", "0012_delivery_indexes"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
            state_operations=[
                migrations.AlterField(
                    model_name="enrollment",
                    name="sequence",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="enrollments", to="stepmail.sequencepage",
                                            verbose_name="sequence"),
                ),
                migrations.AlterField(
                    model_name="enrollment",
                    name="object_type",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                                            to="contenttypes.contenttype"),
                ),
                migrations.AlterField(
                    model_name="enrollment",
                    name="status",
                    field=models.CharField(choices=[("active", "Active"), ("paused", "Paused"),
                                                    ("completed", "Completed"), ("exited", "Exited"),
                                                    ("cancelled", "Cancelled")],
                                           default="active", max_length=16, verbose_name="status"),
                ),
                *(migrations.AddIndex(model_name="enrollment", index=index) for index in NEW),
            ],
        ),
    ]
