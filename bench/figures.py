"""The figures: each function builds what it needs, measures, and returns plain numbers."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

from django.core import mail
from django.db import connection
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Delivery, DeliveryStatus, Enrollment
from stepmail_plugin.sending import build_message, open_connection, send

from . import data
from .measure import QueryCounter, median, rnd, stopwatch


@dataclass
class Bench:
    quick: bool
    recipients: int = 5000
    batch_size: int = 100
    profile: str = ""
    #: Dispatch runs (each with its floor) whose medians are reported.
    repeat: int = 1
    notes: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    chart: list[tuple[int, float, float]] = field(default_factory=list)  # (batch size, mails/s, queries/mail)
    image: Any = None
    products: list[Any] = field(default_factory=list)
    body: list[Any] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def prepare(bench: Bench) -> None:
    """What several figures share: the catalogue, the image and the 6-block body."""
    data.base_data()
    bench.image = data.make_image()
    bench.products = data.make_catalogue()
    bench.body, notes = data.step_body(bench.image)
    for text in notes:
        bench.note(text)


def _settle() -> None:
    """Collect garbage, then keep what exists now (the bench's own data: thousands of orders and
    contacts a worker would not hold) out of later collections, for the dispatcher and the floor
    alike: otherwise the timed code pays for traversing the bench's heap."""
    gc.collect()
    gc.freeze()


def _dispatch_once(batch_size: int, profile: str = "") -> tuple[Any, Any, int]:
    mail.outbox = []
    counter = QueryCounter()
    _settle()
    profiler = None
    if profile.endswith(".prof"):
        # cProfile on CPU time: exact call counts, and not skewed by other processes.
        import cProfile
        import time

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    elif profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    with counter.everywhere(), stopwatch() as timing:
        result = dispatch_due(batch_size=batch_size)
    gc.unfreeze()
    if profile.endswith(".prof"):
        import pstats

        profiler.disable()
        profiler.dump_stats(profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    elif profiler is not None:
        profiler.stop()
        with open(profile, "w") as out:
            out.write(profiler.output_html())
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    return result, timing, counter.count


def _dispatch_and_floor(bench: Bench, contacts: list[Any], profile: str = "") -> dict[str, Any]:
    """One dispatch run over the due recipients, then the floor: their messages, already
    rendered, through the same backend. Figures of this run, unrounded."""
    n = len(contacts)
    result, timing, queries = _dispatch_once(bench.batch_size, profile)
    if result.sent != n:
        bench.note(f"dispatch sent {result.sent} of {n}: {dict(result.reasons)}")
    figures: dict[str, Any] = {
        "dispatch_mails_per_s": result.sent / timing.wall,
        "dispatch_cpu_mails_per_s": result.sent / timing.cpu,
        "queries_per_mail": queries / max(result.sent, 1),
    }
    sample = mail.outbox[0] if mail.outbox else None
    if sample is None:
        return figures
    html = sample.alternatives[0][0]
    mail.outbox = []
    _settle()
    mail_connection = open_connection()
    mail_connection.open()
    with stopwatch() as floor:
        ok = 0
        for contact in contacts:
            message = build_message(
                subject=sample.subject, text=sample.body, html=html, from_email=sample.from_email,
                to=contact.email, headers=dict(sample.extra_headers), tags=sample.tags,
                metadata=sample.metadata, connection=mail_connection,
            )
            ok += send(message).ok
    mail_connection.close()
    gc.unfreeze()
    mail.outbox = []
    figures["floor_mails_per_s"] = ok / floor.wall
    figures["dispatch_vs_floor"] = figures["dispatch_mails_per_s"] / figures["floor_mails_per_s"]
    # The same ratio on CPU time: steadier than wall-clock time when other processes share the
    # cores.
    figures["floor_cpu_mails_per_s"] = ok / floor.cpu
    figures["dispatch_vs_floor_cpu"] = figures["dispatch_cpu_mails_per_s"] / figures["floor_cpu_mails_per_s"]
    return figures


def dispatch(bench: Bench) -> None:
    """Personalised mails per second through the real dispatcher, and the floor beside it."""
    n = bench.recipients
    # Warm-up on a sequence of its own: templates, the CSS inliner and Django's caches loaded.
    warm_sequence, warm_steps = data.make_sequence("ウォームアップ", "order_placed", bench.body)
    warm_contacts = data.make_contacts(200, prefix="warm")
    warm_orders = data.make_orders([c.email for c in warm_contacts], bench.products)
    data.enroll_due(warm_sequence, warm_steps[0], warm_contacts, warm_orders)
    dispatch_due(batch_size=bench.batch_size)

    sequence, steps = data.make_sequence("購入後フォロー", "order_placed", bench.body)
    contacts = data.make_contacts(n, prefix="d")
    orders = data.make_orders([c.email for c in contacts], bench.products)
    enrollments = data.enroll_due(sequence, steps[0], contacts, orders)
    if connection.vendor == "postgresql":
        # What autovacuum does on a live shop after thousands of new rows (the bench's server
        # may run without it): tables never analysed are planned from guesses no shop's
        # statistics would give.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    runs = []
    for run in range(bench.repeat):
        if run:
            # The same recipients again: their first mails due anew, dead rows vacuumed as
            # autovacuum would between a shop's busy hours.
            data.make_due(enrollments, steps[0], timezone.now() - timezone.timedelta(minutes=1))
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
        runs.append(_dispatch_and_floor(bench, contacts, profile=bench.profile if not run else ""))
    # Each figure is the median over the runs (one run: its own figures).
    for key in runs[0]:
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            bench.results[key] = rnd(median(values), 3 if key.startswith(("dispatch_vs", "queries")) else 1)
    bench.results["dispatch_recipients"] = n
    bench.results["dispatch_batch_size"] = bench.batch_size
    if bench.repeat > 1:
        bench.results["dispatch_runs"] = bench.repeat
        bench.results["dispatch_vs_floor_each"] = [rnd(r.get("dispatch_vs_floor"), 3) for r in runs]
        bench.results["dispatch_mails_per_s_each"] = [rnd(r["dispatch_mails_per_s"], 1) for r in runs]
    mail.outbox = []

    # Throughput against batch size, on part of the same recipients.
    sizes = [10, 25, 50, 100, 250, 500]
    part = enrollments[: (500 if bench.quick else 2000)]
    for size in sizes:
        data.make_due(part, steps[0], timezone.now() - timezone.timedelta(minutes=1))
        result, timing, queries = _dispatch_once(size)
        bench.chart.append((size, result.sent / timing.wall, queries / max(result.sent, 1)))
    mail.outbox = []
    Delivery.objects.filter(enrollment__sequence_id__in=[sequence.pk, warm_sequence.pk]).update(
        status=DeliveryStatus.CANCELLED
    )



def _unpublish(trigger: str) -> None:
    """Unpublish the live sequences of a trigger the way an editor would (Wagtail's signals fire)."""
    from stepmail_plugin.models import SequencePage

    for sequence in SequencePage.objects.live().filter(trigger=trigger):
        sequence.unpublish()


def order_placed(bench: Bench) -> None:
    """What enrollment adds to Oscar's checkout: the plugin's ``order_placed`` receiver, run for
    real orders (placed through Oscar's OrderCreator) at 1 and at 20 live sequences."""
    from stepmail_plugin.triggers.orders import receive_order_placed

    n = 50 if bench.quick else 200
    _unpublish("order_placed")
    short_body = [("paragraph", data.PARAGRAPH_1)]
    made = 0
    for live in (1, 20):
        while made < live:
            made += 1
            data.make_sequence(f"注文後 {made}", "order_placed", short_body)
        with data.without_enrollment():
            orders = [data.place_order(f"o{live}-{k:05d}@example.jp", bench.products) for k in range(n + 5)]
        times, cpu, queries = [], [], []
        for k, order in enumerate(orders):
            counter = QueryCounter()
            gc.disable()
            with connection.execute_wrapper(counter), stopwatch() as timing:
                receive_order_placed(sender=None, order=order, user=None)
            gc.enable()
            if k >= 5:  # the first few warm caches up
                times.append(timing.wall * 1000)
                cpu.append(timing.cpu * 1000)
                queries.append(counter.count)
        enrolled = Enrollment.objects.filter(contact__email__startswith=f"o{live}-").count()
        if enrolled != (n + 5) * live:
            bench.note(f"order_placed: {enrolled} enrollments for {n + 5} orders × {live} sequences")
        bench.results[f"order_placed_ms_median_{live}"] = rnd(median(times), 3)
        bench.results[f"order_placed_cpu_ms_median_{live}"] = rnd(median(cpu), 3)
        bench.results[f"order_placed_queries_{live}"] = int(max(queries))
    bench.results["order_placed_ms_median"] = bench.results["order_placed_ms_median_20"]
    _unpublish("order_placed")


def idle(bench: Bench) -> None:
    """A scheduler tick when nothing is due, over many enrollments (a dozen sequences' worth)."""
    sequences = 10
    contacts = (100_000 if bench.quick else 1_000_000) // sequences
    # Nothing else may be due: leftovers of the other figures are cancelled.
    Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).update(status=DeliveryStatus.CANCELLED)
    made = [data.make_sequence(f"シナリオ {k + 1}", "custom", [("paragraph", data.PARAGRAPH_2)])
            for k in range(sequences)]
    data.make_contacts(contacts, prefix="idle")
    total = data.bulk_enrollments_sql(made, timezone.now())
    dispatch_due()  # warm
    times, cpu = [], []
    for _ in range(10 if bench.quick else 30):
        with stopwatch() as timing:
            result = dispatch_due()
        times.append(timing.wall * 1000)
        cpu.append(timing.cpu * 1000)
        if result.claimed:
            bench.note(f"idle tick claimed {result.claimed} deliveries")
    bench.results["idle_tick_ms"] = rnd(median(times), 2)
    bench.results["idle_tick_cpu_ms"] = rnd(median(cpu), 2)
    bench.results["idle_tick_enrollments"] = total


def birdsong(bench: Bench) -> None:
    from . import birdsong_compare

    birdsong_compare.run(bench)


def drain(bench: Bench) -> None:
    from . import drain as drain_module

    drain_module.run(bench)


TARGETS = {
    "dispatch_mails_per_s": "≥ 300",
    "dispatch_vs_floor": "≥ 0.5",
    "queries_per_mail": "≤ 0.2",
    "order_placed_ms_median": "≤ 3",
    "order_placed_queries_20": "= at 1",
    "idle_tick_ms": "≤ 20 (at 1M)",
    "drain_speedup_2_workers": "≥ 1.7",
    "vs_birdsong": "≥ 5",
}

#: The keys each figure fills (a figure that could be taken must fill them: see run.py).
FIGURE_KEYS = {
    "dispatch": ["dispatch_mails_per_s", "floor_mails_per_s", "dispatch_vs_floor", "queries_per_mail"],
    "order": ["order_placed_ms_median", "order_placed_queries_1", "order_placed_queries_20"],
    "idle": ["idle_tick_ms", "idle_tick_enrollments"],
    "drain": ["drain_speedup_2_workers"],
    "birdsong": ["birdsong_mails_per_s", "vs_birdsong"],
}

FIGURES = {
    "dispatch": dispatch,
    "order": order_placed,
    "idle": idle,
    "drain": drain,
    "birdsong": birdsong,
}
