"""The database server drops the worker's connection in the middle of a batch (a failover, a
restart, an idle-connection killer): what the ESP accepted is still recorded, once."""

import pytest

from stepmail_plugin.models import Delivery, DeliveryStatus

from .conftest import finish, make_due, report, server_only, start_dispatch, statuses


@server_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("drop_after", [30, 50], ids=["mid-chunk", "end-of-chunk"])
def test_connection_dropped_mid_batch(esp, worker_env, drop_after):
    make_due(300, steps=[{"subject": "当日", "delay": 0}, {"subject": "3日後", "delay": 3}])
    expected = set(Delivery.objects.values_list("pk", flat=True))

    code, data, err = finish(start_dispatch(worker_env(drop_db_after=drop_after)))

    counts = esp.counts(expected)
    report(f"database connection dropped after mail {drop_after}", deliveries=300, **counts,
           uncertain=statuses()[DeliveryStatus.UNCERTAIN], exit_code=code)
    assert code == 0, err
    assert "connection lost; reconnecting" in err
    assert (counts["sent"], counts["duplicates"], counts["lost"]) == (300, 0, 0)
    assert data["sent"] == 300
    assert statuses()[DeliveryStatus.SENT] == 300
    assert Delivery.objects.filter(step__title="3日後").count() == 300
