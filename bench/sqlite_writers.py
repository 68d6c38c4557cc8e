"""Several processes appending single events to one SQLite file (as `ledger serve --workers 2` does).

Each process runs a production-wired ledger (group commit on) with 8 writer threads. Measured
in the same run: with the kernel-queued writer lock (``infra.sqlite.lock``, the default) and
with it disabled, so SQLite's own busy handler (sleeps growing to 100 ms) arbitrates. Prints
events/s and per-append p50/p99. Run ``python -m bench.sqlite_writers [--each N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import random
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.common import flag_event, machine
from bench.projections import percentiles

PROCESSES, THREADS = 2, 8


def _writer_process(folder: str, each: int, seed: int, locked: bool, out: Any) -> None:
    import infra.sqlite.lock  # noqa: PLC0415 - patched before any store exists

    if not locked:

        @contextlib.contextmanager
        def no_lock(_self: infra.sqlite.lock.WriterLock) -> Iterator[None]:
            yield

        infra.sqlite.lock.WriterLock.hold = no_lock  # type: ignore[method-assign,assignment]
    from bench.append import sqlite_ledger  # noqa: PLC0415

    ledger = sqlite_ledger(Path(folder))
    latencies: list[float] = []
    rngs = [random.Random(seed * 100 + t) for t in range(THREADS)]

    def write(rng: random.Random) -> None:
        for _ in range(each):
            event = flag_event(rng)
            began = time.perf_counter()
            ledger.append([event])
            latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=write, args=(r,)) for r in rngs]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((time.perf_counter() - began, latencies))
    ledger.close()


def run(each: int, *, locked: bool) -> tuple[float, float, float]:
    """Events/s, p50 ms, p99 ms for ``PROCESSES`` x ``THREADS`` single-event writers."""
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-writers-") as folder:
        results: Any = mp.Queue()
        procs = [
            mp.Process(target=_writer_process, args=(folder, each, p + 1, locked, results))
            for p in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        outcomes = [results.get() for _ in procs]
        for p in procs:
            p.join()
    wall = max(o[0] for o in outcomes)
    p50, p99 = percentiles([x for o in outcomes for x in o[1]])
    return PROCESSES * THREADS * each / wall, p50, p99


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--each", type=int, default=250, help="appends per writer thread")
    args = parser.parse_args(argv)
    print(machine(None, uses_pg=False))
    print(f"{PROCESSES} processes x {THREADS} threads, single-event appends, one SQLite file")
    print(f"{'arbitration':44s} {'events/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for label, locked in (
        ("writer lock (flock queue), the default", True),
        ("SQLite busy handler only", False),
    ):
        rate, p50, p99 = run(args.each, locked=locked)
        print(f"{label:44s} {rate:9,.0f} {p50:8.1f} {p99:8.1f}")


if __name__ == "__main__":
    main()
