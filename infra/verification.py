"""Full verification runs and their last result, shared by ``ledger verify`` and the API.

Every run (``ledger verify``, ``ledger verify --follow``, ``POST /admin/verification``) stores
its result in one JSON file beside the embedded store, written atomically, so
``GET /ledger/verification`` and the ``ledger_verification_*`` gauges report the last run
whoever started it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from infra.bootstrap import SystemClock
from infra.settings import Settings
from infra.wiring_proofs import build_keyring, build_worm
from ledger.catalogue.types import Timestamp
from ledger.merkle import MerkleLog, TreeStore
from ledger.ports import EventStore
from ledger.verify import ChainError, iter_store
from ledger.verify_checkpoints import verify_ledger


def verification_path(settings: Settings) -> Path:
    """Where the last result is kept (beside the embedded store, under ``var/`` by default)."""
    return Path(settings.sqlite_path).parent / "verification.json"


def verify_now(
    settings: Settings,
    store: EventStore,
    tree_store: TreeStore,
    progress: Callable[[int], object] | None = None,
) -> dict[str, Any]:
    """Verify chains, tree, checkpoints and WORM copies; the result as data (never raises on a fault)."""
    checkpoints = tree_store.checkpoints()
    try:
        report = verify_ledger(
            iter_store(store.read),
            store.heads(),
            checkpoints,
            build_keyring(settings).verifiers() if checkpoints else [],
            tree=MerkleLog(tree_store),
            worm=build_worm(settings),
            origin=settings.origin,
            progress=progress,
            reread_heads=store.heads,
        )
        result: dict[str, Any] = {"ok": True, **dataclasses.asdict(report)}
    except ChainError as e:
        result = {"ok": False, "failure": e.as_dict()}
    result["finished_at"] = Timestamp.from_epoch_ms(SystemClock().now_ms()).canonical()
    return result


class FileVerificationLog:
    """Verification results kept in a JSON file, so every process reports the same last result."""

    def __init__(self, settings: Settings, store: EventStore, tree_store: TreeStore) -> None:
        self._settings = settings
        self._store = store
        self._tree_store = tree_store
        self._path = verification_path(settings)
        self._lock = threading.Lock()

    def last(self) -> dict[str, Any] | None:
        """The last stored result."""
        try:
            result: dict[str, Any] = msgspec.json.decode(self._path.read_bytes())
        except (OSError, msgspec.DecodeError):
            return None
        return result

    def run(self, progress: Callable[[int], object] | None = None) -> dict[str, Any]:
        """Verify now; store and return the result."""
        with self._lock:
            result = verify_now(self._settings, self._store, self._tree_store, progress)
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_name(f".{self._path.name}.tmp")
            tmp.write_bytes(msgspec.json.encode(result))
            tmp.replace(self._path)
            return result


def follow(
    log: FileVerificationLog,
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
