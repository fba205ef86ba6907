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

from ._index_swap import swap_field_indexes

#: The fields whose ``db_index`` indexes this migration replaces or drops.
FIELDS = ("sequence", "object_type", "status")
NEW = (models.Index(fields=["status"], name="stepmail_enrollment_status"),)


forwards, backwards = swap_field_indexes("Enrollment", FIELDS, NEW)


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
