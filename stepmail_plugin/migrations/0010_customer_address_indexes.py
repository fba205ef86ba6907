"""Indexes on lower-cased customer addresses in Oscar's order table and the user table.

Product mails leave out what a customer bought before, found by account and by address (a
guest's address is on the order, a customer's on their account), ignoring case. Neither Oscar
nor Django index those addresses, so every batch of mails read the whole order table. These two
expression indexes make it a look-up. On PostgreSQL they are built ``CONCURRENTLY`` (orders keep
being placed meanwhile; hence a non-atomic migration); on other databases than PostgreSQL and
SQLite nothing is done (see docs/install.md for the statements).
"""

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import migrations

INDEXES = [
    # (app label, model, field, index name)
    ("order", "Order", "guest_email", "stepmail_order_guest_email_lower"),
    (*settings.AUTH_USER_MODEL.split("."), "email", "stepmail_user_email_lower"),
]


def _run(apps, schema_editor, create: bool) -> None:
    connection = schema_editor.connection
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    concurrently = " CONCURRENTLY" if connection.vendor == "postgresql" else ""
    quote = schema_editor.quote_name
    for app_label, model_name, field_name, index_name in INDEXES:
        try:
            model = apps.get_model(app_label, model_name)
            column = model._meta.get_field(field_name).column
        except (LookupError, FieldDoesNotExist):  # e.g. a custom user model without an email
            continue
        if create:
            schema_editor.execute(
                f"CREATE INDEX{concurrently} IF NOT EXISTS {quote(index_name)}"
                f" ON {quote(model._meta.db_table)} (LOWER({quote(column)}))"
            )
        else:
            schema_editor.execute(f"DROP INDEX{concurrently} IF EXISTS {quote(index_name)}")


def create_indexes(apps, schema_editor) -> None:
    _run(apps, schema_editor, create=True)


def drop_indexes(apps, schema_editor) -> None:
    _run(apps, schema_editor, create=False)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("stepmail", "0009_follow_up_retries"),
        ("order", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
