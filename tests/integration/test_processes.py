"""Several OS processes appending to the same streams of one store never fork a stream."""

from __future__ import annotations

import multiprocessing
import queue
from collections import defaultdict
from dataclasses import dataclass, replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest

from infra.backend import Backend
from infra.cipher import AesGcmFieldCipher
from infra.postgres import PostgresBackend
from ledger.application import Ledger
from ledger.verify import iter_store, verify_log
from tests.conftest import KEK, FixedClock
from tests.factories import Events

PROCESSES, PER_PROCESS, STREAMS = 4, 100, ("a", "b", "c")
Result = tuple[int, list[tuple[str, str, int, int, str]]]


@dataclass(frozen=True)
class Job:
    """What one worker process appends to (picklable for the spawn start method)."""

    seed: int
    backend: Backend


def worker(job: Job, start: Barrier, results: Queue[Result]) -> None:
    """Append single-event batches round-robin to the shared streams; report the receipts."""
    ledger = Ledger(
        job.backend.events(),
        AesGcmFieldCipher(job.backend.keys(), KEK),
        FixedClock(),
        group_commit=False,
    )
    events = Events(seed=job.seed)
    out: list[tuple[str, str, int, int, str]] = []
    try:
        start.wait(timeout=60)
        for i in range(PER_PROCESS):
            stream = STREAMS[(job.seed + i) % len(STREAMS)]
            [r] = ledger.append([events.feature_flag(stream, rollout=i % 101)])
            out.append((str(r.event_id), r.stream, r.position, r.stream_position, r.hash))
    finally:
        ledger.close()
    results.put((job.seed, out))


@pytest.mark.timeout(60)
def test_processes_appending_to_shared_streams_never_fork(backend: Backend) -> None:
    if isinstance(backend, PostgresBackend):
        backend = replace(backend, pool_size=1)
    backend.events().close()  # create the tables once, before the race
    backend.keys().close()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    results: Queue[Result] = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(Job(seed, backend), start, results))
        for seed in range(1, PROCESSES + 1)
    ]
    for p in procs:
        p.start()
    collected: list[Result] = []
    try:
        while len(collected) < PROCESSES:
            collected.append(results.get(timeout=50))
    except queue.Empty:
        pytest.fail(f"only {len(collected)} of {PROCESSES} workers reported")
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    receipts = [r for _, rs in collected for r in rs]
    assert len(receipts) == PROCESSES * PER_PROCESS
    assert len({r[0] for r in receipts}) == PROCESSES * PER_PROCESS
    assert sorted(r[2] for r in receipts) == list(range(PROCESSES * PER_PROCESS))
    per_stream: dict[str, list[int]] = defaultdict(list)
    for r in receipts:
        per_stream[r[1]].append(r[3])
    assert set(per_stream) == {f"FeatureFlag:{s}" for s in STREAMS}
    for positions in per_stream.values():
        assert sorted(positions) == list(range(len(positions)))
    store = backend.events()
    try:
        assert store.size() == PROCESSES * PER_PROCESS
        report = verify_log(iter_store(store.read), store.heads())
        assert (report.events, report.streams) == (PROCESSES * PER_PROCESS, len(STREAMS))
        assert {h.hash.hex() for _, h in store.heads()} <= {r[4] for r in receipts}
    finally:
        store.close()
