"""Four dispatcher processes at once over 10,000 due deliveries: each sent once, none lost.

(A mail server known in this field sent up to 17 copies of a message with 8 workers.)
"""

import pytest

from stepmail_plugin.models import Delivery

from .conftest import SENT, finish, make_due, postgres_only, report, start_dispatch, statuses

N = 10_000
PROCESSES = 4


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_four_dispatcher_processes_send_ten_thousand_mails_once_each(esp, worker_env):
    make_due(N)
    first_steps = set(Delivery.objects.values_list("pk", flat=True))
    env = worker_env()
    # Small batches so the four processes contend for the same rows all the time.
    workers = [start_dispatch(env, "--max-seconds", "600") for _ in range(PROCESSES)]
    results = [finish(w) for w in workers]

    for code, data, err in results:
        assert code == 0, err
    counts = esp.counts(first_steps)
    per_process = [data["sent"] for _code, data, _err in results]
    report("4 dispatcher processes, 10,000 due deliveries", deliveries=N, **counts,
           per_process="/".join(map(str, per_process)))
    assert counts["duplicates"] == 0
    assert counts["lost"] == 0
    assert counts["sent"] == N
    assert sum(per_process) == N
    assert all(n > 0 for n in per_process), "every process took part"
    assert statuses()[SENT] == N
