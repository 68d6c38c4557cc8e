"""Whole-ledger verification across processes: one range of positions each.

``ledger.verify.ranges`` plans the ranges and stitches what they return; this adapter runs
them: the first in this process, over the store it has open, the others in worker
processes, spawned (nothing of this process's connections or threads is inherited), each
opening its own event store and tree store from the backend it is handed (a small frozen
value: each worker's whole composition). Workers count their progress into a queue that
this process drains between its own spans. Workers only verify, so they run with the
cyclic garbage collector off (see ``infra.verification``).
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import queue
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from infra.backend import Backend
from ledger.chain import StoredColumns
from ledger.merkle_log import MerkleLog
from ledger.ports import EventStore
from ledger.verify import iter_columns
from ledger.verify.ranges import RangeResult, RangeTask, check_range

Progress = Callable[[int], object]
_POLL = 0.2  # seconds between progress reports while waiting for the workers


@dataclass(frozen=True)
class _Worker:
    store: EventStore
    tree: MerkleLog | None
    counts: Any  # multiprocessing.Queue


_worker: list[_Worker] = []  # what ``_open`` opened in this worker process


class ProcessRanges:
    """A ``RangeRunner``: range checks in ``processes`` processes, this one included."""

    def __init__(self, backend: Backend, store: EventStore, tree: MerkleLog | None, processes: int) -> None:
        self.processes = processes
        self._backend, self._store, self._tree = backend, store, tree

    def run(self, tasks: Sequence[RangeTask], progress: Progress | None) -> list[RangeResult | None]:
        """Check ``tasks[0]`` here and the others in worker processes; results in order."""
        context = multiprocessing.get_context("spawn")
        counts = context.Queue()
        report = _reporter(counts, progress)
        with ProcessPoolExecutor(
            len(tasks) - 1,
            mp_context=context,
            initializer=_open,
            initargs=(self._backend, counts, self._tree is not None),
        ) as pool:
            others = [pool.submit(_check, task) for task in tasks[1:]]
            first = check_range(tasks[0], self._store.read_columns, self._tree, report)
            while wait(others, timeout=_POLL).not_done:
                report(0)
            results = [first, *(f.result() for f in others)]
        report(0)
        return results

    def records(self, start: int) -> Iterable[StoredColumns]:
        """The store's records from ``start`` on, as spans."""
        return iter_columns(self._store.read_columns, start=start)


def _reporter(counts: Any, progress: Progress | None) -> Progress:
    """Report this process's progress, and whatever the workers have counted meanwhile."""

    def report(n: int) -> None:
        while True:
            try:
                n += counts.get_nowait()
            except queue.Empty:
                break
        if progress is not None and n:
            progress(n)

    return report


def _open(backend: Backend, counts: Any, with_tree: bool) -> None:
    gc.disable()  # this process only verifies (see the module docstring)
    store = backend.events()
    atexit.register(store.close)
    tree = None
    if with_tree:
        tree_store = backend.tree()
        atexit.register(tree_store.close)
        tree = MerkleLog(tree_store)
    _worker.append(_Worker(store, tree, counts))


def _check(task: RangeTask) -> RangeResult | None:
    [worker] = _worker
    return check_range(task, worker.store.read_columns, worker.tree, worker.counts.put)
