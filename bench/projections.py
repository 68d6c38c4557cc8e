"""Projection benchmark: rebuild throughput beside raw reads, lookup latency, live lag.

Run ``python -m bench.projections`` (``--events N`` sets the ledger size, default 100,000;
``--quick`` is 10,000). Per store (SQLite file, PostgreSQL schema), in one run over the same
events of the deterministic demo history:

- raw read rate (``EventStore.read``; and the view store's record read plus decode);
- rebuild of every projection from zero, events/s, and its ratio to the raw read rate;
- p50/p99 in-process latency of a round reconstruction and of a 1,000-revision audit history;
- lag of live projections (``ProjectionRunner.follow``) while a writer appends at a fixed rate.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

from bench.common import PG_DSN, fresh_schema, frozen_heap, machine, pg_problem, pg_version
from infra.demo import demo_events
from infra.settings import PostgresStore, Settings
from infra.wiring.bootstrap import build_ledger, build_runner, open_backend
from ledger.application import Ledger
from ledger.reads import decode_event
from projections.audit import audit_history, audit_history_json
from projections.rounds import reconstruct_round
from projections.runner import ProjectionRunner

KEK = base64.b64encode(bytes(range(32))).decode()
REVISIONS = 1000
TARGETS = {"rebuild": 50_000.0, "round_p99_ms": 5.0, "audit_p99_ms": 30.0}


@dataclass
class Row:
    store: str
    name: str
    value: str
    note: str = ""


def _config(i: int) -> dict[str, Any]:
    return {
        "name": "Bench rule", "kind": "deposit_match", "match_percent": "100.00",
        "max_bonus": {"amount": f"{100 + i % 400}.00", "currency": "EUR"},
        "wagering_multiplier": 10 + i % 50, "eligible_games": [f"g{j}" for j in range(i % 5)],
        "jurisdictions": ["MT"], "valid_from": "2026-01-01T00:00:00.000Z", "terms_version": f"t-{i % 7}",
    }  # fmt: skip


def revision_events(count: int) -> list[dict[str, Any]]:
    """``count`` revisions of one bonus rule (the audit lookup's subject)."""
    return [
        {
            "event_id": f"00000000-0000-4000-8000-{i:012d}",
            "schema_version": 1,
            "type": "bonus_rule.created" if i == 0 else "bonus_rule.changed",
            "stream": "BonusRule:br-bench",
            "occurred_at": "2026-01-05T08:00:00.000Z",
            "actor": {"kind": "operator", "id": "op-bench"},
            "trace_id": f"{i + 1:032x}",
            "jurisdiction": "MT",
            "payload": {"rule_id": "br-bench", "config": _config(i), "reason": f"revision {i}"},
        }
        for i in range(count)
    ]


def append(ledger: Ledger, events: list[dict[str, Any]], batch: int = 1000) -> None:
    for receipts in ledger.append_all(events[i : i + batch] for i in range(0, len(events), batch)):
        if not receipts:
            msg = "append returned no receipts"
            raise RuntimeError(msg)


def rate(events: int, seconds: float) -> str:
    return f"{events / seconds:,.0f} ev/s" if seconds > 0 else "-"


def percentiles(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49] * 1000, q[98] * 1000


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of ``run`` (inputs frozen out of the GC, as in bench.append)."""
    with frozen_heap():
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        return time.perf_counter() - wall, time.process_time() - cpu


def reads(store: str, runner: ProjectionRunner, size: int) -> tuple[list[Row], float]:
    def read_store() -> None:
        n = 0
        while batch := runner.store.read(n, 2000):
            n += len(batch)

    def read_decode() -> None:
        n = 0
        while batch := runner.store.read_columns(n, 2000).data:
            n += len(batch)
            for data in batch:
                decode_event(data)

    wall, _ = timed(read_store)
    dwall, _ = timed(read_decode)
    rows = [Row(store, "raw read (EventStore.read)", rate(size, wall)),
            Row(store, "record read + decode (projection input)", rate(size, dwall))]  # fmt: skip
    return rows, size / wall


def rebuild(store: str, runner: ProjectionRunner, size: int, raw: float) -> list[Row]:
    wall, cpu = timed(runner.rebuild)
    ok = "meets" if size / wall >= TARGETS["rebuild"] else "below"
    note = f"{size / wall / raw:.2f}x raw read; CPU {rate(size, cpu)}; {ok} the 50,000 target"
    return [
        Row(store, f"rebuild all {len(runner.projections)} projections from zero", rate(size, wall), note)
    ]


def lookups(store: str, runner: ProjectionRunner, round_ids: list[str]) -> list[Row]:
    with frozen_heap():  # the bench's own inputs stay out of GC scans, as in bench.append
        return _lookups(store, runner, round_ids)


def _lookups(store: str, runner: ProjectionRunner, round_ids: list[str]) -> list[Row]:
    rng = Random(7)
    samples = []
    for round_id in (rng.choice(round_ids) for _ in range(2000)):
        start = time.perf_counter()
        reconstruct_round(runner.views, round_id)
        samples.append(time.perf_counter() - start)
    r50, r99 = percentiles(samples)
    samples = []
    for _ in range(100):
        start = time.perf_counter()
        rows = audit_history(runner.views, "BonusRule", "br-bench")
        samples.append(time.perf_counter() - start)
    if len(rows) != REVISIONS:
        msg = f"expected {REVISIONS} revisions, got {len(rows)}"
        raise RuntimeError(msg)
    a50, a99 = percentiles(samples)
    samples = []
    for _ in range(100):
        start = time.perf_counter()
        audit_history_json(runner.views, "BonusRule", "br-bench")
        samples.append(time.perf_counter() - start)
    j50, j99 = percentiles(samples)
    return [
        Row(
            store,
            "round reconstruction p50 / p99",
            f"{r50:.2f} / {r99:.2f} ms",
            "target p99 ≤ 5 ms, 2,000 lookups",
        ),
        Row(
            store,
            f"audit history, {REVISIONS} revisions p50 / p99",
            f"{a50:.1f} / {a99:.1f} ms",
            "decoded to dicts",
        ),
        Row(
            store,
            "audit history, served as JSON p50 / p99",
            f"{j50:.1f} / {j99:.1f} ms",
            "target p99 ≤ 30 ms",
        ),
    ]


def lag(
    store: str, ledger: Ledger, runner: ProjectionRunner, events: list[dict[str, Any]], per_second: int
) -> Row:
    """Follow while a writer appends ``per_second`` events/s in batches of 100; sample the lag."""
    stop, done = threading.Event(), threading.Event()
    wait = getattr(runner.views, "wait_for_events", None)
    follower = threading.Thread(target=runner.follow, args=(stop, 0.02, wait))

    def writer() -> None:
        start = time.perf_counter()
        for i in range(0, len(events), 100):
            time.sleep(max(0.0, start + i / per_second - time.perf_counter()))
            ledger.append(events[i : i + 100])
        done.set()

    follower.start()
    thread = threading.Thread(target=writer)
    thread.start()
    samples: list[int] = []
    while not done.is_set():
        head = ledger.store.size()
        samples.append(head - min(s.position for s in runner.views.tracking().values()))
        time.sleep(0.05)
    thread.join()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(s.lag for s in runner.status()):
        time.sleep(0.01)
    stop.set()
    follower.join()
    p50, p99 = statistics.median(samples), max(samples)
    note = f"{len(events):,} events at {per_second:,}/s; ≈{p50 / per_second * 1000:.0f} ms median behind"
    return Row(store, "live lag under append load, median / max", f"{p50:,.0f} / {p99:,.0f} events", note)


def stores(pg: bool, folder: Path) -> Iterator[tuple[str, Settings]]:
    yield (
        "SQLite",
        Settings(data_dir=str(folder), kek=KEK),
    )
    if pg:
        with fresh_schema() as schema:
            yield "PostgreSQL", Settings(store=PostgresStore(dsn=PG_DSN, schema=schema), kek=KEK)


def one_store(
    store: str, settings: Settings, history: list[dict[str, Any]], live: list[dict[str, Any]], load: int
) -> list[Row]:
    backend = open_backend(settings)
    ledger = build_ledger(settings, backend)
    runner = build_runner(settings, ledger.store, backend.views())
    try:
        start = time.perf_counter()
        append(ledger, history)
        size = ledger.store.size()
        rows = [
            Row(store, "ledger size", f"{size:,} events", f"appended in {time.perf_counter() - start:.0f} s")
        ]
        read_rows, raw = reads(store, runner, size)
        rows += read_rows
        rows += rebuild(store, runner, size, raw)
        round_ids = [e["payload"]["round_id"] for e in history if e["type"] == "round.started"]
        rows += lookups(store, runner, round_ids)
        rows.append(lag(store, ledger, runner, live, load))
        return rows
    finally:
        runner.views.close()
        ledger.close()


def benchmark(events: int, load: int, seconds: int) -> None:
    problem = pg_problem()
    print(f"audit-ledger projection benchmark: {events:,}-event ledger")
    print(machine(None if problem else pg_version()))
    live_count = load * seconds
    demo = list(demo_events(events - REVISIONS + live_count))
    history = demo[: events - REVISIONS]
    history[len(history) // 2 : len(history) // 2] = revision_events(REVISIONS)
    live = demo[events - REVISIONS :]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-proj-") as tmp:
        for store, settings in stores(problem is None, Path(tmp)):
            rows += one_store(store, settings, history, live, load)
    if problem:
        print(f"PostgreSQL skipped: {problem}")
    width = max(len(r.name) for r in rows)
    for r in rows:
        print(f"{r.store:<11} {r.name:<{width}}  {r.value:>22}  {r.note}")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.projections")
    p.add_argument("--events", type=int, default=100_000, help="ledger size (default 100,000)")
    p.add_argument("--quick", action="store_true", help="10,000 events, short load phase")
    p.add_argument("--load", type=int, default=2000, help="appended events/s during the lag phase")
    p.add_argument("--seconds", type=int, default=10, help="length of the lag phase")
    args = p.parse_args()
    if args.quick:
        benchmark(10_000, 1000, 3)
    else:
        benchmark(args.events, args.load, args.seconds)


if __name__ == "__main__":
    main()
