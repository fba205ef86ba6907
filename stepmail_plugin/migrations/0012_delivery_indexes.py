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

import django.db.models.deletion
from django.db import migrations, models

from ._index_swap import swap_field_indexes

#: The fields whose ``db_index`` indexes this migration replaces or drops.
FIELDS = ("enrollment", "esp_message_id", "variant")
NEW = (
    models.Index(fields=["esp_message_id"], name="stepmail_delivery_esp_id"),
    models.Index(fields=["variant"], name="stepmail_delivery_variant", condition=models.Q(variant__isnull=False)),
)


forwards, backwards = swap_field_indexes("Delivery", FIELDS, NEW)


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
