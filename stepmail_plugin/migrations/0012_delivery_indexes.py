"""Fewer indexes on deliveries: each one is written again every time a delivery changes state
(claimed, sending, then sent: three times per mail), so an index no query needs is paid for on
every mail.

* ``enrollment_id`` loses its own index: the unique (enrollment, step) constraint leads with it
  and serves every look-up by enrollment.
* ``esp_message_id`` keeps one index (a ``Meta`` index) but not the ``varchar_pattern_ops`` twin a
  CharField's ``db_index`` adds on PostgreSQL: message ids are only ever compared whole.
* ``variant_id`` is indexed only where it is set (most deliveries have no A/B variant).

The new indexes are built before the old ones are dropped, so tracking events keep finding
their deliveries meanwhile; on PostgreSQL ``CONCURRENTLY`` (mail keeps being sent; hence a
non-atomic migration), as in 0010.
"""

import copy

import django.db.models.deletion
from django.db import migrations, models

#: The columns whose field-made (``db_index``) indexes this migration replaces or drops.
COLUMNS = ("enrollment_id", "esp_message_id", "variant_id")
NEW = (
    models.Index(fields=["esp_message_id"], name="stepmail_delivery_esp_id"),
    models.Index(fields=["variant"], name="stepmail_delivery_variant", condition=models.Q(variant__isnull=False)),
)


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def _field_indexes(schema_editor, model) -> list[str]:
    """Names of the single-column, non-unique indexes on COLUMNS other than this migration's."""
    connection = schema_editor.connection
    table = model._meta.db_table
    ours = {index.name for index in NEW}
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return sorted(
        name for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"]
        and len(info["columns"]) == 1 and info["columns"][0] in COLUMNS and name not in ours
    )


def forwards(apps, schema_editor) -> None:
    model = apps.get_model("stepmail", "Delivery")
    existing = _field_indexes(schema_editor, model)
    for index in NEW:
        schema_editor.add_index(model, index, **_concurrently(schema_editor))
    for name in existing:
        schema_editor.execute(schema_editor._delete_index_sql(model, name, **_concurrently(schema_editor)))


def backwards(apps, schema_editor) -> None:
    model = apps.get_model("stepmail", "Delivery")
    for name in ("enrollment", "esp_message_id", "variant"):
        # The field as it was (db_index=True): the same index names and, on PostgreSQL, the
        # pattern index of esp_message_id.
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
        ("stepmail", "0011_site_frequency_cap"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="enrollment",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="deliveries", to="stepmail.enrollment",
                                            verbose_name="enrollment"),
                ),
                migrations.AlterField(
                    model_name="delivery",
                    name="esp_message_id",
                    field=models.CharField(blank=True, max_length=255, verbose_name="ESP message id"),
                ),
                migrations.AlterField(
                    model_name="delivery",
                    name="variant",
                    field=models.ForeignKey(blank=True, db_index=False,
                                            help_text="Empty: the step's own content (variant A).", null=True,
                                            on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="deliveries", to="stepmail.stepvariant",
                                            verbose_name="A/B variant"),
                ),
                *(migrations.AddIndex(model_name="delivery", index=index) for index in NEW),
            ],
        ),
    ]
