"""Sealing and whole-ledger verification rates, beside raw hashing and raw reading of the same bytes.

Run ``python -m bench.verify`` (``BENCH_VERIFY_EVENTS`` sets the ledger size, default
200,000; ``--quick`` uses 20,000). For each store it appends the deterministic demo
history, seals it into checkpoints of 1,000 events (sealing throughput: tree extension,
signing, WORM write and the anchor event), then times in the same run:

- ``ledger verify`` as the CLI runs it (chains, every persisted tree node, roots,
  signatures, checkpoint chain, consistency, WORM copies), over ``read_columns`` spans, in
  one process and with ``--processes`` (default one per CPU) checking ranges side by side;
- reading the same records from the store, as spans (``EventStore.read_columns``, what
  verification reads: the storage floor) and as ``StoredRecord`` objects (``read``);
- ``hashlib.sha256`` over the same record bytes, once per record (the "raw hashing"
  baseline the issue compares with) and twice (what verification must hash at least:
  the chain hash and the leaf hash).
Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from bench.common import PG_DSN, Result, fresh_schema, machine, pg_problem, pg_version, timed
from infra.demo import demo_events
from infra.settings import Settings
from infra.verification import paused_gc
from infra.wiring.bootstrap import build_keyring, build_ledger, build_sealer, build_worm, open_backend
from infra.wiring.processes import ProcessRanges
from ledger.merkle_log import MerkleLog, TreeStore
from ledger.ports import EventStore
from ledger.verify import iter_columns, iter_store, verify_ledger

TARGET_VERIFY = 300_000.0
TARGET_RATIO = 0.3
SEAL_EVERY = 1000


def settings_for(folder: Path, schema: str | None) -> Settings:
    env = {"LEDGER_DATA_DIR": str(folder)}
    if schema is not None:
        env |= {"LEDGER_STORE": "postgres", "LEDGER_PG_DSN": PG_DSN, "LEDGER_PG_SCHEMA": schema}
    return Settings.from_env(env)


def run_store(section: str, settings: Settings, events: int, processes: int) -> list[Result]:
    backend = open_backend(settings)
    ledger = build_ledger(settings, backend)
    try:
        source = demo_events(events, seed=11)
        for _ in range(0, events, SEAL_EVERY):
            chunk = [e for _, e in zip(range(SEAL_EVERY), source, strict=False)]
            if chunk:
                ledger.append(chunk)
        sealer = build_sealer(settings, ledger, backend.tree())
        size = ledger.store.size()

        def seal_all() -> None:
            while sealer.tree.size() < size:
                end = min(sealer.tree.size() + SEAL_EVERY, size)
                sealer.seal(up_to=end)

        sealing = timed(section, "seal (tree + sign + WORM + anchor)", size, seal_all, f"every {SEAL_EVERY}")
        store, tree_store = ledger.store, sealer.tree_store
        total = store.size()
        records = [r.data for r in iter_store(store.read)]
        results = [
            sealing,
            *verify_rows(section, settings, store, tree_store, processes),
            timed(
                section,
                "raw read, columns (read_columns)",
                total,
                lambda: sum(len(c) for c in iter_columns(store.read_columns)),
            ),
            timed(section, "raw read, records (read)", total, lambda: sum(1 for _ in iter_store(store.read))),
            timed(
                section,
                "raw sha256, 1 per record",
                total,
                lambda: [hashlib.sha256(d).digest() for d in records],
            ),
            timed(
                section,
                "raw sha256, 2 per record",
                total,
                lambda: [(hashlib.sha256(d).digest(), hashlib.sha256(d).digest()) for d in records],
            ),
        ]
        tree_store.close()
        return results
    finally:
        ledger.close()


def verify_rows(
    section: str, settings: Settings, store: EventStore, tree_store: TreeStore, processes: int
) -> list[Result]:
    """``ledger verify`` as the CLI runs it, in one process and in ``processes`` (ranges side by side)."""
    checkpoints = tree_store.checkpoints()
    verifiers = build_keyring(settings).verifiers()
    worm = build_worm(settings)
    tree = MerkleLog(tree_store)

    def verify(n: int) -> None:
        with paused_gc():
            verify_ledger(
                iter_columns(store.read_columns),
                store.heads(),
                checkpoints,
                verifiers,
                tree=tree,
                worm=worm,
                origin=settings.origin,
                reread_heads=store.heads,
                ranges=ProcessRanges(open_backend(settings), store, tree, n) if n > 1 else None,
            )

    note = f"{len(checkpoints)} checkpoints"
    rows = [timed(section, "ledger verify, 1 process", store.size(), lambda: verify(1), note)]
    if processes > 1:
        name = f"ledger verify, {processes} processes"
        rows.append(timed(section, name, store.size(), lambda: verify(processes), note))
    return rows


def print_table(results: Sequence[Result]) -> None:
    head = f"{'store':<11} {'case':<38} {'events':>9} {'seconds':>8} {'events/s':>11} {'us/event':>9}"
    print(f"{head} {'x raw sha':>9}  note")
    print("-" * (len(head) + 20))
    for r in results:
        raw = next(
            (x for x in results if x.section == r.section and x.name.startswith("raw sha256, 1")), None
        )
        ratio = f"{r.rate / raw.rate:.3f}" if raw and raw.rate else ""
        us = 1e6 / r.rate if r.rate else 0.0
        print(f"{r.section:<11} {r.name:<38} {r.events:>9,} {r.seconds:>8.2f} {r.rate:>11,.0f} {us:>9.2f} "
              f"{ratio:>9}  {r.note}")  # fmt: skip
    for section in dict.fromkeys(r.section for r in results):
        runs = [r for r in results if r.section == section and r.name.startswith("ledger verify")]
        v = max(runs, key=lambda r: r.rate)
        raw = next(r for r in results if r.section == section and r.name.startswith("raw sha256, 1"))
        met = "met" if v.rate >= TARGET_VERIFY and v.rate >= TARGET_RATIO * raw.rate else "NOT MET"
        print(
            f"target {section}: verify >= {TARGET_VERIFY:,.0f} ev/s and >= {TARGET_RATIO} x raw sha256: "
            f"{v.rate:,.0f} ev/s, {v.rate / raw.rate:.3f} x  -> {met}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.verify", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 events")
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1, help="processes for the parallel verify row"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)
    events = 20_000 if args.quick else int(os.environ.get("BENCH_VERIFY_EVENTS", "200000"))
    problem = pg_problem()
    print(f"audit-ledger sealing and verification benchmark ({events:,} demo events per store)")
    print(f"machine: {machine(None if problem else pg_version())}")
    began = time.perf_counter()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        results += run_store("SQLite", settings_for(Path(tmp) / "sqlite", None), events, args.processes)
        if problem is None:
            with fresh_schema() as schema:
                results += run_store(
                    "PostgreSQL", settings_for(Path(tmp) / "pg", schema), events, args.processes
                )
        else:
            print(f"PostgreSQL unreachable at {PG_DSN!r} ({problem}): PostgreSQL rows skipped.")
    print()
    print_table(results)
    print(f"\ntotal wall time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
