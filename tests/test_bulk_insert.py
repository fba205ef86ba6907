"""bulk.insert_rows / insert_statement: plain rows written as the ORM would write them, whatever
mix of defaults, shared and varying values the rows hold (the statement text is reused per shape)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from stepmail_plugin.bulk import insert_rows, insert_statement
from stepmail_plugin.models import Contact, ConsentStatus, Delivery, DeliveryStatus, Enrollment, EnrollmentStatus

from .factories import add_step, make_sequence


@pytest.mark.django_db
def test_rows_mixing_defaults_shared_and_varying_values_are_written_as_given():
    sequence = make_sequence("まとめて", "custom")
    step = add_step(sequence, subject="1通目", delay=0)
    contacts = [Contact.objects.create(email=f"bulk{n}@example.jp") for n in range(3)]
    anchor = timezone.now().replace(microsecond=0)
    rows = [
        {"sequence_id": sequence.pk, "contact_id": c.pk, "trigger": "custom", "key": f"k{n}", "anchor_at": anchor,
         "context": {"n": n}}
        for n, c in enumerate(contacts)
    ]
    # One row leaves a field at its default that another sets (the rows do not all hold the same fields).
    rows[1].update(status=EnrollmentStatus.COMPLETED, exit_reason="holdout", holdout=True)
    returned = insert_rows(Enrollment, rows, ignore_conflicts=True, returning=("pk", "key"))
    assert sorted(key for _, key in returned) == ["k0", "k1", "k2"]
    written = {e.key: e for e in Enrollment.objects.filter(sequence=sequence)}
    assert [written[f"k{n}"].context for n in range(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert {e.anchor_at for e in written.values()} == {anchor}
    assert (written["k0"].status, written["k0"].holdout, written["k0"].exit_reason) == (EnrollmentStatus.ACTIVE, False, "")
    assert (written["k1"].status, written["k1"].holdout, written["k1"].exit_reason) == (
        EnrollmentStatus.COMPLETED, True, "holdout"
    )
    assert all(e.created_at is not None and e.supply_days is None for e in written.values())

    # Same shape again, other values: the statement made for the first rows is reused as it should.
    due = [anchor + timedelta(hours=n) for n in range(3)]
    for _ in range(2):
        Delivery.objects.filter(step_id=step.pk).delete()
        insert_rows(Delivery, [
            {"enrollment_id": written[f"k{n}"].pk, "step_id": step.pk, "step_path": step.path, "due_at": due[n]}
            for n in range(3)
        ])
        deliveries = Delivery.objects.filter(step_id=step.pk).order_by("due_at")
        assert [d.due_at for d in deliveries] == due
        assert {(d.status, d.attempts, d.subject, d.variant_id) for d in deliveries} == {
            (DeliveryStatus.SCHEDULED, 0, "", None)
        }
        due = [moment + timedelta(days=1) for moment in due]


@pytest.mark.django_db
def test_a_given_value_equal_to_the_default_and_one_that_is_not():
    insert_rows(Contact, [
        {"email": "a@example.jp", "consent": ConsentStatus.UNKNOWN, "first_name": ""},
        {"email": "b@example.jp", "consent": ConsentStatus.UNKNOWN, "first_name": ""},
    ])
    insert_rows(Contact, [
        {"email": "c@example.jp", "consent": ConsentStatus.OPTED_IN, "first_name": "花子"},
        {"email": "d@example.jp", "consent": ConsentStatus.OPTED_IN, "first_name": "花子"},
    ])
    values = dict(Contact.objects.values_list("email", "consent"))
    assert values == {"a@example.jp": "unknown", "b@example.jp": "unknown", "c@example.jp": "opted_in",
                      "d@example.jp": "opted_in"}
    assert set(Contact.objects.filter(email__in=["c@example.jp", "d@example.jp"]).values_list("first_name", flat=True)) == {"花子"}


@pytest.mark.django_db
def test_postgresql_writes_fixed_defaults_into_the_sql_and_passes_few_parameters():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's unnest() statement")
    rows = [{"email": f"p{n}@example.jp"} for n in range(20)]
    sql, params = insert_statement(Contact, rows, connection, ignore_conflicts=True)
    # The addresses as one array, the creation time once; every other column is its default.
    assert len(params) == 2
    assert "''::varchar(150)" in sql and "'unknown'::varchar(16)" in sql
    assert insert_statement(Contact, [{"email": "q@example.jp"}], connection, ignore_conflicts=True)[0] == sql
