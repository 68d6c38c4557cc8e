"""Full verification runs and their results, shared by ``ledger verify`` and the API.

Every run (``ledger verify``, ``ledger verify --follow``, ``POST /admin/verification``) is kept
in ``ledger_verifications`` beside the events (the SQLite file, or the PostgreSQL schema), so
``GET /ledger/verification`` and the ``ledger_verification_*`` gauges of every API process
and replica report the last run, whoever started it, and past runs stay on record.

A pass allocates millions of short-lived objects and no reference cycles, and the cyclic
garbage collector's scans cost it a fifth of its time: processes that only verify (the
CLI, the workers, the benchmark) run it with the collector paused (``paused_gc``).
"""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, Protocol

from ledger.catalogue.types import Timestamp
from ledger.checkpoint import Verifier
from ledger.errors import ChainError
from ledger.merkle_log import MerkleLog, TreeStore
from ledger.ports import Clock, EventStore
from ledger.verify import iter_columns, verify_ledger
from ledger.verify.ranges import RangeRunner
from ledger.worm import WormStore


class ResultStore(Protocol):
    """Verification results, newest last."""

    def save(self, result: dict[str, Any]) -> None:
        """Keep one result."""
        ...

    def last(self) -> dict[str, Any] | None:
        """Return the newest result, if any."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@dataclasses.dataclass(frozen=True)
class Trust:
    """What a pass checks the stored log against: the signing keys, the WORM copies, the origin.

    ``verifiers`` is called only when there are checkpoints to check, so a ledger never
    sealed verifies without a keyring.
    """

    verifiers: Callable[[], Sequence[Verifier]]
    worm: WormStore
    origin: str


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


def verify_now(
    store: EventStore,
    tree_store: TreeStore,
    trust: Trust,
    clock: Clock,
    progress: Callable[[int], object] | None = None,
    *,
    ranges: RangeRunner | None = None,
    pause_gc: bool = False,
) -> dict[str, Any]:
    """Verify chains, tree, checkpoints and WORM copies; the result as data (never raises on a fault).

    With ``ranges`` a large ledger is checked in ranges side by side
    (:mod:`infra.wiring.processes`). ``pause_gc`` pauses the cyclic garbage collector for the
    pass: for processes that only verify (the CLI), never for the API's.
    """
    checkpoints = tree_store.checkpoints()
    try:
        with paused_gc() if pause_gc else nullcontext():
            report = verify_ledger(
                iter_columns(store.read_columns),
                store.heads(),
                checkpoints,
                trust.verifiers() if checkpoints else [],
                tree=MerkleLog(tree_store),
                worm=trust.worm,
                origin=trust.origin,
                progress=progress,
                reread_heads=store.heads,
                ranges=ranges,
            )
        result: dict[str, Any] = {"ok": True, **dataclasses.asdict(report)}
    except ChainError as e:
        result = {"ok": False, "failure": e.as_dict()}
    result["finished_at"] = Timestamp.from_epoch_ms(clock.now_ms()).canonical()
    return result


class StoredVerificationLog:
    """Run full verifications and keep each result (the API's ``VerificationLog``)."""

    def __init__(
        self,
        store: EventStore,
        tree_store: TreeStore,
        results: ResultStore,
        trust: Trust,
        clock: Clock,
        *,
        ranges: RangeRunner | None = None,
        pause_gc: bool = False,
    ) -> None:
        self._store, self._tree_store, self._results = store, tree_store, results
        self._trust, self._clock = trust, clock
        self._ranges, self._pause_gc = ranges, pause_gc
        self._lock = threading.Lock()

    def last(self) -> dict[str, Any] | None:
        """Return the newest result, whoever ran it."""
        return self._results.last()

    def run(self, progress: Callable[[int], object] | None = None) -> dict[str, Any]:
        """Verify now; keep and return the result."""
        with self._lock:
            result = verify_now(
                self._store,
                self._tree_store,
                self._trust,
                self._clock,
                progress,
                ranges=self._ranges,
                pause_gc=self._pause_gc,
            )
            self._results.save(result)
            return result


def follow(
    log: StoredVerificationLog,
    *,
    interval: float,
    report: Callable[[dict[str, Any]], object] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Verify at once, then every ``interval`` seconds, until ``stop`` is set (or interrupted)."""
    stop = stop or threading.Event()
    while not stop.is_set():
        result = log.run()
        if report is not None:
            report(result)
        stop.wait(interval)
