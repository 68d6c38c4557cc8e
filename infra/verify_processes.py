"""Whole-ledger verification across processes: one range of positions each.

``ledger.verify.ranges`` plans the ranges and stitches what they return; this adapter runs
them: the first in this process, over the store it has open, the others in worker
processes, spawned (nothing of this process's connections or threads is inherited), each
opening its own event store and tree store from the settings. Workers count their
progress into a queue that this process drains between its own spans.

A pass allocates millions of short-lived objects and no reference cycles, and the cyclic
garbage collector's scans cost it a fifth of its time: processes that only verify (the
CLI, the workers, the benchmark) run it with the collector paused (``paused_gc``).
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import queue
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from infra.bootstrap import build_store, build_tree_store
from infra.settings import Settings
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

    def __init__(self, settings: Settings, store: EventStore, tree: MerkleLog | None, processes: int) -> None:
        self.processes = processes
        self._settings, self._store, self._tree = settings, store, tree

    def run(self, tasks: Sequence[RangeTask], progress: Progress | None) -> list[RangeResult | None]:
        """Check ``tasks[0]`` here and the others in worker processes; results in order."""
        context = multiprocessing.get_context("spawn")
        counts = context.Queue()
        report = _reporter(counts, progress)
        with ProcessPoolExecutor(
            len(tasks) - 1,
            mp_context=context,
            initializer=_open,
            initargs=(self._settings, counts, self._tree is not None),
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


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees everything acyclic)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _open(settings: Settings, counts: Any, with_tree: bool) -> None:
    gc.disable()  # this process only verifies (see the module docstring)
    store = build_store(settings)
    atexit.register(store.close)
    tree = None
    if with_tree:
        tree_store = build_tree_store(settings)
        atexit.register(tree_store.close)
        tree = MerkleLog(tree_store)
    _worker.append(_Worker(store, tree, counts))


def _check(task: RangeTask) -> RangeResult | None:
    [worker] = _worker
    return check_range(task, worker.store.read_columns, worker.tree, worker.counts.put)
