"""Merkle log: sealing throughput and proof latency on SQLite and PostgreSQL, beside pymerkle.

Run ``python -m bench.merkle``. Trees are built from synthetic leaf hashes through
``MerkleLog.append_leaves`` in chunks (the sealer's path without reading events), then
inclusion, consistency and root-at-size latencies are sampled in process at random indices.
The baselines: bare ``hashlib.sha256`` over the node inputs the build hashes, the pure
``completed_nodes`` computation without storage, and pymerkle's ``SqliteTree``.

Environment (all optional): ``BENCH_MERKLE_SIZES`` (SQLite tree sizes, default
``1000000,10000000``), ``BENCH_MERKLE_PG_SIZES`` (default ``1000000``; empty skips),
``BENCH_MERKLE_BASELINE`` (pymerkle and like-for-like size, default ``100000``),
``BENCH_MERKLE_SAMPLES`` (proofs per case, default ``2000``), ``BENCH_MERKLE_CHUNK``
(leaves per append, default ``100000``). The report never fails on timing.
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from pymerkle import SqliteTree

from bench.common import PG_DSN, fresh_schema, frozen_heap, machine, pg_problem, pg_version
from infra.postgres import PostgresTreeStore
from infra.sqlite import SqliteTreeStore
from ledger.merkle_log import MerkleLog, TreeStore, completed_nodes

TARGET_INCLUSION_P99_MS = 1.0
TARGET_SIZE = 10_000_000
PYMERKLE_SAMPLES = 50


@dataclass(frozen=True)
class Config:
    """What to measure, from the environment."""

    sqlite_sizes: list[int]
    pg_sizes: list[int]
    baseline: int
    samples: int
    chunk: int

    @classmethod
    def from_env(cls) -> Config:
        """Read the ``BENCH_MERKLE_*`` variables."""

        def sizes(name: str, default: str) -> list[int]:
            return [int(s) for s in os.environ.get(name, default).split(",") if s.strip()]

        return cls(
            sqlite_sizes=sizes("BENCH_MERKLE_SIZES", "1000000,10000000"),
            pg_sizes=sizes("BENCH_MERKLE_PG_SIZES", "1000000"),
            baseline=int(os.environ.get("BENCH_MERKLE_BASELINE", "100000")),
            samples=int(os.environ.get("BENCH_MERKLE_SAMPLES", "2000")),
            chunk=int(os.environ.get("BENCH_MERKLE_CHUNK", "100000")),
        )


@dataclass(frozen=True)
class Latency:
    """Percentiles of one sampled operation, in milliseconds."""

    p50: float
    p99: float
    cpu_p99: float
    samples: int

    @classmethod
    def of(cls, seconds: list[float], cpu: list[float]) -> Latency:
        """Summarise wall ``seconds`` (and the thread CPU time of the same calls)."""
        return cls(statistics.median(seconds) * 1000, _p99(seconds), _p99(cpu), len(seconds))

    def __str__(self) -> str:
        return f"{self.p50:8.3f} {self.p99:8.3f}"


@dataclass(frozen=True)
class Row:
    """One tree of the report."""

    store: str
    leaves: int
    build_seconds: float
    inclusion: Latency
    consistency: Latency
    root: Latency
    disk_mb: float = 0.0
    note: str = ""


def leaf_chunks(total: int, chunk: int, seed: int) -> Iterator[list[bytes]]:
    """Synthetic 32-byte leaf hashes, ``chunk`` at a time (never all in memory)."""
    rng = random.Random(seed)
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        blob = rng.randbytes(32 * n)
        yield [blob[i : i + 32] for i in range(0, 32 * n, 32)]


def build(log: MerkleLog, total: int, chunk: int) -> float:
    """Append ``total`` leaves in chunks; return the seconds spent inside ``append_leaves``."""
    spent = 0.0
    with frozen_heap():
        for leaves in leaf_chunks(total, chunk, seed=total):
            began = time.perf_counter()
            log.append_leaves(leaves)
            spent += time.perf_counter() - began
    return spent


def sample(op: Callable[[int], object], draw: Callable[[], int], samples: int) -> Latency:
    """Time ``op(draw())`` ``samples`` times (the draw is outside the timing)."""
    seconds, cpu = [], []
    for _ in range(samples):
        arg = draw()
        began, began_cpu = time.perf_counter(), time.thread_time()
        op(arg)
        seconds.append(time.perf_counter() - began)
        cpu.append(time.thread_time() - began_cpu)
    return Latency.of(seconds, cpu)


def _p99(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))] * 1000


def measure(name: str, store: TreeStore, total: int, cfg: Config, disk: Callable[[], float]) -> Row:
    """Build a tree of ``total`` leaves in ``store`` and sample its proofs."""
    log = MerkleLog(store)
    seconds = build(log, total, cfg.chunk)
    rng = random.Random(7)
    log.root(total)  # warm the read path (prepared statements, page cache) once
    inclusion = sample(lambda i: log.inclusion(i, total), lambda: rng.randrange(total), cfg.samples)
    consistency = sample(lambda m: log.consistency(m, total), lambda: rng.randrange(1, total), cfg.samples)
    root = sample(log.root, lambda: rng.randrange(1, total + 1), cfg.samples)
    return Row(name, total, seconds, inclusion, consistency, root, disk())


def sqlite_tree(total: int, cfg: Config) -> Row:
    """Our tree in a fresh SQLite file."""
    with tempfile.TemporaryDirectory(prefix="bench-merkle-") as tmp:
        path = Path(tmp) / "ledger.sqlite3"
        store = SqliteTreeStore(path)
        try:
            return measure("SQLite", store, total, cfg, lambda: _mb(Path(tmp)))
        finally:
            store.close()


def pg_tree(total: int, cfg: Config) -> Row:
    """Our tree in a fresh PostgreSQL schema."""
    with fresh_schema() as schema:
        store = PostgresTreeStore(PG_DSN, schema)
        try:
            return measure("PostgreSQL", store, total, cfg, lambda: _pg_mb(schema))
        finally:
            store.close()


def _pg_mb(schema: str) -> float:
    with psycopg.connect(PG_DSN) as conn:
        row = conn.execute("SELECT pg_total_relation_size(%s)", (f'"{schema}".ledger_tree',)).fetchone()
    return int(row[0]) / 1e6 if row else 0.0


def _mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.iterdir()) / 1e6


def pymerkle_tree(total: int) -> Row:
    """pymerkle's SqliteTree: bulk build, first root (cache rebuild), sampled proofs."""
    with tempfile.TemporaryDirectory(prefix="bench-pymerkle-") as tmp:
        tree = SqliteTree(str(Path(tmp) / "pymerkle.db"))
        try:
            entries = [i.to_bytes(8, "big") for i in range(total)]
            began = time.perf_counter()
            tree.append_entries(entries)
            seconds = time.perf_counter() - began
            began = time.perf_counter()
            tree.get_root(total)
            first_root = time.perf_counter() - began
            rng = random.Random(7)
            n = PYMERKLE_SAMPLES
            incl = sample(lambda i: tree.prove_inclusion(i, total), lambda: rng.randrange(1, total + 1), n)
            cons = sample(lambda m: tree.prove_consistency(m, total), lambda: rng.randrange(1, total), n)
            root = sample(tree.get_root, lambda: rng.randrange(1, total + 1), n)
            note = f"{n} samples; first root {first_root:.2f} s; build hashes the entries too"
            return Row("pymerkle", total, seconds, incl, cons, root, _mb(Path(tmp)), note)
        finally:
            tree.close()


def raw_rates(total: int) -> tuple[float, float]:
    """(bare sha256 node hashes/s over 65-byte inputs, in-memory ``completed_nodes`` leaves/s)."""
    leaves = next(leaf_chunks(total, total, seed=1))
    with frozen_heap():
        sha = hashlib.sha256
        began = time.perf_counter()
        for a, b in zip(leaves[0::2], leaves[1::2], strict=False):
            sha(b"\x01" + a + b).digest()
            sha(b"\x01" + b + a).digest()
        hashes = time.perf_counter() - began
        began = time.perf_counter()
        completed_nodes(0, leaves, lambda _: {})
        pure = time.perf_counter() - began
    return 2 * (total // 2) / hashes, total / pure


def print_report(rows: list[Row], raw: tuple[float, float]) -> None:
    """The table, the raw baselines and the issue's target."""
    head = (
        f"{'store':<11} {'leaves':>11} {'build s':>8} {'leaves/s':>10} {'incl p50':>8} {'p99 ms':>8} "
        f"{'cons p50':>8} {'p99 ms':>8} {'root p50':>8} {'p99 ms':>8} {'disk MB':>8}"
    )
    print(head + "  note")
    print("-" * (len(head) + 8))
    for r in rows:
        rate = r.leaves / r.build_seconds if r.build_seconds else 0.0
        print(f"{r.store:<11} {r.leaves:>11,} {r.build_seconds:>8.1f} {rate:>10,.0f} {r.inclusion} "
              f"{r.consistency} {r.root} {r.disk_mb:>8,.0f}  {r.note}")  # fmt: skip
    hashes, pure = raw
    print(f"\nraw hashlib.sha256 over 65-byte node inputs: {hashes:,.0f} hashes/s "
          f"(a tree build does ~1 node hash per leaf: the ceiling for leaves/s)")  # fmt: skip
    print(f"completed_nodes in memory (hashing + bookkeeping, no storage): {pure:,.0f} leaves/s")
    print("Latencies are in process through MerkleLog (one batched node read each), random indices.")
    print("Thread-CPU p99 (ms; the same calls without time spent preempted on a shared machine):")
    for r in rows:
        print(f"  {r.store:<11} {r.leaves:>11,}  inclusion {r.inclusion.cpu_p99:.3f}  "
              f"consistency {r.consistency.cpu_p99:.3f}  root {r.root.cpu_p99:.3f}")  # fmt: skip
    at_target = [r for r in rows if r.store != "pymerkle" and r.leaves >= TARGET_SIZE]
    for r in at_target:
        verdict = "met" if r.inclusion.p99 <= TARGET_INCLUSION_P99_MS else "NOT MET"
        print(f"target: inclusion proof p99 <= {TARGET_INCLUSION_P99_MS} ms at {r.leaves:,} leaves "
              f"({r.store}): {r.inclusion.p99:.3f} ms, {verdict}")  # fmt: skip
    if not at_target:
        print(f"target: inclusion proof p99 <= 1 ms at {TARGET_SIZE:,}: not measured (sizes too small)")


def benchmark(cfg: Config) -> None:
    """Measure everything once and print the report."""
    problem = pg_problem()
    print("audit-ledger Merkle log benchmark")
    print(f"machine: {machine(None if problem else pg_version())}")
    print(f"sizes: SQLite {cfg.sqlite_sizes}, PostgreSQL {cfg.pg_sizes}, baseline {cfg.baseline:,}, "
          f"{cfg.samples} samples, chunks of {cfg.chunk:,}", flush=True)  # fmt: skip
    began = time.perf_counter()
    raw = raw_rates(min(1_000_000, max(cfg.sqlite_sizes, default=cfg.baseline)))
    rows = [pymerkle_tree(cfg.baseline), sqlite_tree(cfg.baseline, cfg)]
    for total in cfg.sqlite_sizes:
        rows.append(sqlite_tree(total, cfg))
        print(f"  SQLite {total:,} done ({time.perf_counter() - began:.0f} s)", flush=True)
    if problem is None:
        rows += [pg_tree(total, cfg) for total in cfg.pg_sizes]
    elif cfg.pg_sizes:
        print(f"PostgreSQL unreachable at {PG_DSN!r} ({problem}): PostgreSQL rows skipped.")
    print()
    print_report(rows, raw)
    print(f"\ntotal wall time {time.perf_counter() - began:.0f} s")


@contextmanager
def quiet() -> Iterator[None]:
    """Silence pymerkle's deprecation chatter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def main() -> None:
    """Run the benchmark with the sizes from the environment."""
    with quiet():
        benchmark(Config.from_env())


if __name__ == "__main__":
    main()
