"""Append throughput of the ledger on SQLite and PostgreSQL, beside raw and eventsourcing baselines.

Run ``python -m bench.append`` (``--quick`` for a ~10x smaller run). Everything is measured
in one run on this machine; the report never fails on timing, it only says which targets
were met. ``--profile`` profiles the PostgreSQL batch-1000 path with cProfile instead.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import sqlite3
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from psycopg.conninfo import conninfo_to_dict

from bench.common import (
    PG_DSN,
    Result,
    bonus_event,
    fresh_schema,
    frozen_heap,
    machine,
    make_events,
    pg_problem,
    pg_version,
    timed,
)
from infra.cipher import AesGcmFieldCipher
from infra.clock import SystemClock
from infra.demo import chunks
from infra.postgres import PostgresEventStore, PostgresKeyTable, datastore
from infra.sqlite import SqliteEventStore, SqliteKeyTable
from ledger.application import Ledger
from ledger.chain import DOMAIN_TAG, GENESIS, Head, Linker, Pending, Row, StoredColumns, StoredRecord
from ledger.errors import LedgerError
from ledger.event import Receipt
from ledger.ports import EventStore

KEK = bytes(range(32))
WRITERS = 16
BATCHES = (1, 100, 1000)
TARGET_BATCHED = 50_000.0
TARGET_VS_ES = 5.0
TARGET_CONCURRENT = 1_500.0


@dataclass(frozen=True)
class Sizes:
    """How many events each case appends (``--quick`` divides by ten)."""

    per_batch: dict[int, int]
    writer_each: int
    raw: int
    es_single: int
    es_batched: int
    in_process: int

    @classmethod
    def of(cls, *, quick: bool) -> Sizes:
        """Full or quick sizes."""
        d = 10 if quick else 1
        return cls({1: 3_000 // d, 100: 30_000 // d, 1000: 100_000 // d}, 500 // d, 100_000 // d,
                   3_000 // d, 30_000 // d, 50_000 // d)  # fmt: skip


# --- the ledger ---------------------------------------------------------------------------


class CountingStore:
    """An ``EventStore`` wrapper counting store transactions, to show what group commit merged."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.commits = 0
        self.events = 0

    def append(self, batches: Sequence[Sequence[Pending]]) -> list[list[Receipt] | LedgerError]:
        """Count, then append."""
        self.commits += 1
        self.events += sum(len(b) for b in batches)
        return self.inner.append(batches)

    def read(self, start: int, limit: int) -> list[StoredRecord]:
        """Delegate."""
        return self.inner.read(start, limit)

    def read_columns(self, start: int, limit: int) -> StoredColumns:
        """Delegate."""
        return self.inner.read_columns(start, limit)

    def read_stream(self, stream: str, start: int = 0, limit: int | None = None) -> list[StoredRecord]:
        """Delegate."""
        return self.inner.read_stream(stream, start, limit)

    def get(self, event_id: str) -> StoredRecord | None:
        """Delegate."""
        return self.inner.get(event_id)

    def heads(self) -> Iterator[tuple[str, Head]]:
        """Delegate."""
        return self.inner.heads()

    def size(self) -> int:
        """Delegate."""
        return self.inner.size()

    def close(self) -> None:
        """Delegate."""
        self.inner.close()

    def reset(self) -> None:
        """Start counting afresh."""
        self.commits = self.events = 0


def sqlite_ledger(folder: Path) -> Ledger:
    """A production-wired ledger (group commit on) over a SQLite file."""
    cipher = AesGcmFieldCipher(SqliteKeyTable(folder / "keys.sqlite3"), KEK)
    return Ledger(CountingStore(SqliteEventStore(folder / "ledger.sqlite3")), cipher, SystemClock())


def pg_ledger(schema: str, *, group_commit: bool = True) -> Ledger:
    """A production-wired ledger over a PostgreSQL schema."""
    cipher = AesGcmFieldCipher(PostgresKeyTable(PG_DSN, schema), KEK)
    store = CountingStore(PostgresEventStore(datastore(PG_DSN, schema=schema)))
    return Ledger(store, cipher, SystemClock(), group_commit=group_commit)


def append_all(ledger: Ledger, batches: Sequence[Sequence[dict[str, Any]]]) -> None:
    """Append every batch, one ``Ledger.append`` call each."""
    for batch in batches:
        ledger.append(batch)


def pipelined(ledger: Ledger, batches: Sequence[Sequence[dict[str, Any]]]) -> None:
    """``Ledger.append_all``: the next batch is prepared while the previous one commits."""
    for _ in ledger.append_all(batches):
        pass


def ledger_batches(section: str, ledger: Ledger, sizes: Sizes, seed: int) -> list[Result]:
    """Sequential appends at each batch size (one caller), then the pipelined bulk path."""
    append_all(ledger, list(chunks(make_events(200, seed), 100)))  # warm-up: pool, plans, heads
    out = []
    for b in BATCHES:
        n = sizes.per_batch[b]
        batches = list(chunks(make_events(n, seed + b), b))
        out.append(timed(section, f"ledger append, batch {b}", n, partial(append_all, ledger, batches)))
    n = sizes.per_batch[1000]
    batches = list(chunks(make_events(n, seed + 5), 1000))
    run = partial(pipelined, ledger, batches)
    out.append(timed(section, "ledger append_all, batch 1000", n, run, "pipelined: prepare overlaps commit"))
    return out


def concurrent_writers(section: str, ledger: Ledger, each: int, seed: int) -> Result:
    """``WRITERS`` threads, each appending single events in a loop (group commit merges them)."""
    per_thread = [make_events(each, seed + t) for t in range(WRITERS)]
    start = threading.Barrier(WRITERS + 1)
    errors: list[BaseException] = []

    def writer(events: list[dict[str, Any]]) -> None:
        start.wait()
        try:
            for e in events:
                ledger.append([e])
        except Exception as e:  # noqa: BLE001 - reported in the table, never raised
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(evs,)) for evs in per_thread]
    counter = ledger.store if isinstance(ledger.store, CountingStore) else None
    for t in threads:
        t.start()
    with frozen_heap():
        if counter is not None:
            counter.reset()
        began = time.perf_counter()
        start.wait()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - began
    note = f"{len(errors)} writers failed: {errors[0]!r}" if errors else ""
    if counter is not None and counter.commits:
        note = note or f"group commit: {counter.events / counter.commits:.1f} events/commit"
    return Result(section, f"ledger, {WRITERS} writers x 1 event", WRITERS * each, seconds, note)


# --- in-process costs ---------------------------------------------------------------------


def prepared_rows(ledger: Ledger, events: Sequence[dict[str, Any]]) -> list[Row]:
    """The exact record bytes the ledger would store for ``events`` (linked from genesis)."""
    pending = ledger.prepare(events)
    return Linker(0, {}, {}).link([pending]).rows


def in_process(ledger: Ledger, n: int) -> list[Result]:
    """prepare (validate+seal+encode), linking, and bare SHA-256 over the record bytes (best of 3)."""
    flags = list(chunks(make_events(n, 7), 1000))
    bonus = list(chunks(make_events(n, 8, bonus_event), 1000))
    pending = [ledger.prepare(b) for b in flags]
    rows = [r for p in pending for r in Linker(0, {}, {}).link([p]).rows]
    size = sum(len(r.data) for r in rows) // len(rows)
    return [
        best_of(3, "Ledger.prepare, feature_flag.changed", n,
                lambda: [ledger.prepare(b) for b in flags], f"validate+seal+encode, ~{size} B records"),
        best_of(3, "Ledger.prepare, bonus_rule.changed", n, lambda: [ledger.prepare(b) for b in bonus]),
        best_of(3, "Linker.link (record bytes + sha256)", n,
                lambda: [Linker(0, {}, {}).link([p]) for p in pending], "what runs under the lock"),
        best_of(3, "hashlib.sha256 over record bytes", n,
                lambda: [hashlib.sha256(DOMAIN_TAG + GENESIS + r.data).digest() for r in rows]),
    ]  # fmt: skip


def best_of(repeat: int, name: str, events: int, run: Callable[[], object], note: str = "") -> Result:
    """The fastest of ``repeat`` timings (in-process costs are short and noisy on a shared VM)."""
    return min((timed("in-process", name, events, run, note) for _ in range(repeat)), key=lambda r: r.seconds)


# --- raw baselines ------------------------------------------------------------------------


def sqlite_raw(folder: Path, rows: Sequence[Row]) -> Result:
    """executemany of the record bytes into a plain table, one commit per 1000 (WAL, FULL)."""
    db = sqlite3.connect(folder / "raw.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE raw (id INTEGER, stream TEXT, data BLOB)")

    def run() -> None:
        for chunk in chunks(rows, 1000):
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO raw VALUES (?, ?, ?)", [(r.position, r.stream, r.data) for r in chunk]
            )
            db.execute("COMMIT")

    try:
        return timed("SQLite", "raw executemany x1000 + commit", len(rows), run, "baseline: no chain/dedup")
    finally:
        db.close()


def pg_raw_insert(conn: psycopg.Connection[Any], table: str, rows: Sequence[Row]) -> None:
    """INSERT … SELECT unnest(…) of 1000 rows per statement, one commit each."""
    sql = f"INSERT INTO {table} SELECT * FROM unnest(%s::bigint[], %s::text[], %s::bytea[])"
    for chunk in chunks(rows, 1000):
        with conn.transaction():
            conn.execute(
                sql, ([r.position for r in chunk], [r.stream for r in chunk], [r.data for r in chunk])
            )


def pg_raw_copy(conn: psycopg.Connection[Any], table: str, rows: Sequence[Row]) -> None:
    """COPY of 1000 rows per transaction."""
    for chunk in chunks(rows, 1000):
        with conn.transaction(), conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
            for r in chunk:
                copy.write_row((r.position, r.stream, r.data))


def pg_raw(schema: str, rows: Sequence[Row]) -> list[Result]:
    """Raw INSERT and COPY of the same record bytes into plain (unindexed) tables."""
    out: list[Result] = []
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for name, load in (("raw INSERT unnest x1000 + commit", pg_raw_insert),
                           ("raw COPY x1000 + commit", pg_raw_copy)):  # fmt: skip
            table = f'"{schema}".raw_{len(out)}'
            conn.execute(f"CREATE TABLE {table} (id bigint, stream text, data bytea)")
            run = partial(load, conn, table, rows)
            out.append(timed("PostgreSQL", name, len(rows), run, "baseline: no chain/dedup"))
    return out


# --- eventsourcing baseline ---------------------------------------------------------------


class FlagAggregate(Aggregate):
    """An eventsourcing aggregate carrying the same fields as a ledger event."""

    class Changed(Aggregate.Event):
        """The flag changed (same envelope and payload fields as the ledger's event)."""

        event_id: str
        flag: str
        enabled: bool
        rollout_percent: int
        trace_id: str
        jurisdiction: str
        actor_kind: str
        actor_id: str
        occurred_at: str


class FlagApp(Application[UUID]):
    """The library's own application service, used as is."""

    name = "BenchFlags"


def es_env(section: str, where: str) -> dict[str, str]:
    """Every key the eventsourcing factory reads, explicitly (it layers os.environ under it)."""
    env = {"CIPHER_TOPIC": "", "CIPHER_KEY": "", "COMPRESSOR_TOPIC": "", "CREATE_TABLE": "y",
           "IS_SNAPSHOTTING_ENABLED": "n"}  # fmt: skip
    if section == "SQLite":
        return {**env, "PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": where}
    info = {k: str(v) for k, v in conninfo_to_dict(PG_DSN).items()}  # the ledger rows' server
    defaults = {"dbname": "test", "host": "/var/run/postgresql", "port": "5432", "user": "postgres",
                "password": "x"}  # fmt: skip
    env |= {f"POSTGRES_{k.upper()}": info.get(k, v) for k, v in defaults.items()}
    return {**env, "PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_SCHEMA": where}


def es_save_all(
    app: FlagApp, aggregates: list[FlagAggregate], batches: Sequence[Sequence[dict[str, Any]]]
) -> None:
    """One ``save`` per batch: each event triggered on an aggregate, all in one save."""
    for i, batch in enumerate(batches):
        agg = aggregates[i % len(aggregates)]
        for e in batch:
            p = e["payload"]
            agg.trigger_event(FlagAggregate.Changed, event_id=e["event_id"], flag=p["flag"],
                              enabled=p["enabled"], rollout_percent=p["rollout_percent"],
                              trace_id=e["trace_id"], jurisdiction=e["jurisdiction"],
                              actor_kind="service", actor_id="bench",
                              occurred_at=e["occurred_at"])  # fmt: skip
        app.save(agg)


def eventsourcing_saves(section: str, where: str, sizes: Sizes) -> list[Result]:
    """``Application.save`` with 1 and with 100 events per save."""
    app = FlagApp(env=es_env(section, where))
    try:
        aggregates = [FlagAggregate() for _ in range(500)]
        app.save(*aggregates)
        out = []
        for per_save, n in ((1, sizes.es_single), (100, sizes.es_batched)):
            batches = list(chunks(make_events(n, 300 + per_save), per_save))
            run = partial(es_save_all, app, aggregates, batches)
            out.append(timed(section, f"eventsourcing save, {per_save}/save", n, run, "baseline"))
        return out
    finally:
        app.close()


# --- the two stores -----------------------------------------------------------------------


@contextmanager
def closing(ledger: Ledger) -> Iterator[Ledger]:
    """Close the ledger (committer thread, pools) however the block ends."""
    try:
        yield ledger
    finally:
        ledger.close()


def run_sqlite(sizes: Sizes, rows: Sequence[Row]) -> list[Result]:
    """Every SQLite row of the report, each store in its own temporary file."""
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as tmp:
        folder = Path(tmp)
        with closing(sqlite_ledger(folder / "batches")) as ledger:
            out = ledger_batches("SQLite", ledger, sizes, 1)
        with closing(sqlite_ledger(folder / "writers")) as ledger:
            out.append(concurrent_writers("SQLite", ledger, sizes.writer_each, 2))
        out.append(sqlite_raw(folder, rows))
        out += eventsourcing_saves("SQLite", str(folder / "es.sqlite3"), sizes)
    return out


def run_postgres(sizes: Sizes, rows: Sequence[Row]) -> list[Result]:
    """Every PostgreSQL row of the report, in one fresh schema dropped afterwards."""
    with fresh_schema() as schema:
        with closing(pg_ledger(schema)) as ledger:
            out = ledger_batches("PostgreSQL", ledger, sizes, 11)
            out.append(concurrent_writers("PostgreSQL", ledger, sizes.writer_each, 12))
        out += pg_raw(schema, rows)
        out += eventsourcing_saves("PostgreSQL", schema, sizes)
    return out


# --- report -------------------------------------------------------------------------------


def find(results: Sequence[Result], section: str, prefix: str) -> Result | None:
    """The first row of ``section`` whose name starts with ``prefix``."""
    return next((r for r in results if r.section == section and r.name.startswith(prefix)), None)


def ratios(r: Result, results: Sequence[Result]) -> tuple[str, str]:
    """(x the comparable eventsourcing save rate, % of the raw bulk rate) for one row."""
    if r.section == "in-process":
        return "", ""
    single = "1/save" if r.name.endswith(("batch 1", "1 event")) else "100/save"
    es = find(results, r.section, f"eventsourcing save, {single}")
    raw = find(results, r.section, "raw COPY" if r.section == "PostgreSQL" else "raw executemany")
    x_es = f"{r.rate / es.rate:.2f}x" if es and es.rate and not r.name.startswith("eventsourcing") else ""
    pct_raw = f"{100 * r.rate / raw.rate:.0f}%" if raw and raw.rate else ""
    return x_es, pct_raw


def print_table(results: Sequence[Result]) -> None:
    """The results, one row per case, with ratios to the baselines."""
    head = f"{'store':<11} {'case':<38} {'events':>7} {'seconds':>8} {'events/s':>10} {'us/event':>9}"
    print(f"{head} {'x es':>7} {'% raw':>6}  note")
    print("-" * (len(head) + 22))
    for r in results:
        x_es, pct_raw = ratios(r, results)
        us = 1e6 / r.rate if r.rate else 0.0
        print(f"{r.section:<11} {r.name:<38} {r.events:>7,} {r.seconds:>8.2f} {r.rate:>10,.0f} {us:>9.1f} "
              f"{x_es:>7} {pct_raw:>6}  {r.note}")  # fmt: skip
    print("x es: ledger rate / eventsourcing save rate on the same store (batch 1 and writers vs 1/save,")
    print("      batched vs 100/save). % raw: of the raw bulk rate (PG: COPY, SQLite: executemany).")


def verdict(measured: float | None, target: float) -> str:
    """met / NOT MET / not measured."""
    if measured is None:
        return "not measured"
    return "met" if measured >= target else "NOT MET"


def print_targets(results: Sequence[Result]) -> None:
    """The issue's targets beside what was measured."""
    pg = find(results, "PostgreSQL", "ledger append, batch 1000")
    bulk = find(results, "PostgreSQL", "ledger append_all, batch 1000")
    lines = [
        ("PostgreSQL batched append (batch 1000)", pg.rate if pg else None, TARGET_BATCHED, "ev/s"),
        ("  pipelined append_all (batch 1000)", bulk.rate if bulk else None, TARGET_BATCHED, "ev/s"),
    ]
    for per_save, reading in (("100/save", "like for like"), ("1/save", "other reading")):
        es = find(results, "PostgreSQL", f"eventsourcing save, {per_save}")
        x_es = pg.rate / es.rate if pg and es and es.rate else None
        lines.append((f"  vs eventsourcing {per_save} ({reading})", x_es, TARGET_VS_ES, "x"))
    for section in ("PostgreSQL", "SQLite"):
        w = find(results, section, "ledger, 16 writers")
        label = f"{WRITERS} concurrent 1-event writers, {section}"
        lines.append((label, w.rate if w else None, TARGET_CONCURRENT, "ev/s"))
    print(f"\n{'target (issue)':<42} {'measured':>12} {'target':>12}  verdict")
    for label, value, target, unit in lines:
        shown = "-" if value is None else (f"{value:,.0f} {unit}" if unit == "ev/s" else f"{value:.2f}{unit}")
        want = f">= {target:,.0f} {unit}" if unit == "ev/s" else f">= {target:.0f}{unit}"
        print(f"{label:<42} {shown:>12} {want:>12}  {verdict(value, target)}")


# --- entry points -------------------------------------------------------------------------


def benchmark(*, quick: bool) -> None:
    """Measure everything once and print the report."""
    sizes = Sizes.of(quick=quick)
    problem = pg_problem()
    print(f"audit-ledger append benchmark ({'quick' if quick else 'full'} run)")
    print(f"machine: {machine(None if problem else pg_version())}")
    began = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-prep-") as tmp,
        closing(sqlite_ledger(Path(tmp))) as ledger,
    ):
        results = in_process(ledger, sizes.in_process)
        rows = prepared_rows(ledger, make_events(sizes.raw, 99))
    results += run_sqlite(sizes, rows)
    if problem is None:
        results += run_postgres(sizes, rows)
    else:
        print(f"PostgreSQL unreachable at {PG_DSN!r} ({problem}): PostgreSQL rows skipped.")
    print()
    print_table(results)
    print_targets(results)
    print(f"\ntotal wall time {time.perf_counter() - began:.0f} s")


def profile(*, quick: bool) -> None:
    """cProfile of PostgreSQL batch-1000 appends (group commit off: one thread does it all)."""
    n = Sizes.of(quick=quick).per_batch[1000]
    with fresh_schema() as schema, closing(pg_ledger(schema, group_commit=False)) as ledger:
        append_all(ledger, list(chunks(make_events(2000, 5), 1000)))
        batches = list(chunks(make_events(n, 6), 1000))
        prof = cProfile.Profile()
        start = time.perf_counter()
        prof.runcall(append_all, ledger, batches)
        seconds = time.perf_counter() - start
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())
    rate = f"{n / seconds:,.0f} ev/s"
    print(f"{n:,} events in {seconds:.2f} s under cProfile ({rate}, profiler overhead included)")


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and run the benchmark (or the profile)."""
    parser = argparse.ArgumentParser(prog="python -m bench.append", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="~10x fewer events (about 30 s)")
    parser.add_argument("--profile", action="store_true", help="cProfile the PostgreSQL batch-1000 path")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)
    if not args.profile:
        benchmark(quick=args.quick)
    elif (problem := pg_problem()) is not None:
        print(f"PostgreSQL unreachable at {PG_DSN!r} ({problem}): nothing to profile.")
    else:
        profile(quick=args.quick)


if __name__ == "__main__":
    main()
