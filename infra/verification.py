"""Full verification runs and their results, shared by ``ledger verify`` and the API.

Every run (``ledger verify``, ``ledger verify --follow``, ``POST /admin/verification``) is kept
in ``ledger_verifications`` beside the events (the SQLite file, or the PostgreSQL schema), so
``GET /ledger/verification`` and the ``ledger_verification_*`` gauges of every API process
and replica report the last run, whoever started it, and past runs stay on record.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Protocol

import msgspec
import psycopg
from psycopg.sql import SQL, Identifier

from infra.bootstrap import SystemClock
from infra.postgres import DDL_LOCK
from infra.settings import Settings
from infra.sqlite_lock import WriterLock
from infra.verify_processes import ProcessRanges, paused_gc
from infra.wiring_proofs import build_keyring, build_worm
from ledger.catalogue.types import Timestamp
from ledger.errors import ChainError, StorageError
from ledger.merkle_log import MerkleLog, TreeStore
from ledger.ports import EventStore
from ledger.verify import iter_columns, verify_ledger


def verify_now(
    settings: Settings,
    store: EventStore,
    tree_store: TreeStore,
    progress: Callable[[int], object] | None = None,
    *,
    processes: int = 1,
    pause_gc: bool = False,
) -> dict[str, Any]:
    """Verify chains, tree, checkpoints and WORM copies; the result as data (never raises on a fault).

    With ``processes`` > 1 a large ledger is checked in ranges side by side
    (:mod:`infra.verify_processes`). ``pause_gc`` pauses the cyclic garbage collector for the
    pass: for processes that only verify (the CLI), never for the API's.
    """
    checkpoints = tree_store.checkpoints()
    tree = MerkleLog(tree_store)
    ranges = ProcessRanges(settings, store, tree, processes) if processes > 1 else None
    try:
        with paused_gc() if pause_gc else nullcontext():
            report = verify_ledger(
                iter_columns(store.read_columns),
                store.heads(),
                checkpoints,
                build_keyring(settings).verifiers() if checkpoints else [],
                tree=tree,
                worm=build_worm(settings),
                origin=settings.origin,
                progress=progress,
                reread_heads=store.heads,
                ranges=ranges,
            )
        result: dict[str, Any] = {"ok": True, **dataclasses.asdict(report)}
    except ChainError as e:
        result = {"ok": False, "failure": e.as_dict()}
    result["finished_at"] = Timestamp.from_epoch_ms(SystemClock().now_ms()).canonical()
    return result


class ResultStore(Protocol):
    """Verification results, newest last."""

    def save(self, result: dict[str, Any]) -> None:
        """Keep one result."""
        ...

    def last(self) -> dict[str, Any] | None:
        """The newest result, if any."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


_DDL = (
    "CREATE TABLE IF NOT EXISTS {t} (id {serial} PRIMARY KEY, finished_at TEXT NOT NULL, "
    "ok BOOLEAN NOT NULL, result {blob} NOT NULL)"
)


class SqliteResultStore:
    """Results in the embedded store's SQLite file."""

    def __init__(self, path: str) -> None:
        self._lock = WriterLock(path)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            with self._lock.hold():
                self._db.execute(_DDL.format(t="ledger_verifications", serial="INTEGER", blob="BLOB"))
        except sqlite3.Error as e:
            raise StorageError(f"cannot open verification results in {path}: {e}") from e

    def save(self, result: dict[str, Any]) -> None:
        """Keep one result."""
        row = (result["finished_at"], bool(result["ok"]), msgspec.json.encode(result))
        with self._lock.hold(), self._errors():
            self._db.execute(
                "INSERT INTO ledger_verifications (finished_at, ok, result) VALUES (?, ?, ?)", row
            )

    def last(self) -> dict[str, Any] | None:
        """The newest result, if any."""
        with self._errors():
            row = self._db.execute(
                "SELECT result FROM ledger_verifications ORDER BY id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else _decode(row[0])

    def close(self) -> None:
        """Release the connection."""
        self._db.close()
        self._lock.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise StorageError(f"verification results failed: {e}") from e


class PostgresResultStore:
    """Results in the events' PostgreSQL schema (one connection, autocommit)."""

    def __init__(self, dsn: str, schema: str) -> None:
        self._table = SQL("{}.ledger_verifications").format(Identifier(schema))
        self._lock = threading.Lock()
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
            with self._conn.transaction():
                self._conn.execute(DDL_LOCK)
                self._conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
                self._conn.execute(
                    SQL(_DDL).format(t=self._table, serial=SQL("bigserial"), blob=SQL("bytea"))
                )
        except psycopg.Error as e:
            raise StorageError(f"cannot open verification results in PostgreSQL: {_line(e)}") from e

    def save(self, result: dict[str, Any]) -> None:
        """Keep one result."""
        row = (result["finished_at"], bool(result["ok"]), msgspec.json.encode(result))
        with self._errors():
            self._conn.execute(
                SQL("INSERT INTO {} (finished_at, ok, result) VALUES (%s, %s, %s)").format(self._table), row
            )

    def last(self) -> dict[str, Any] | None:
        """The newest result, if any."""
        with self._errors():
            row = self._conn.execute(
                SQL("SELECT result FROM {} ORDER BY id DESC LIMIT 1").format(self._table)
            ).fetchone()
        return None if row is None else _decode(row[0])

    def close(self) -> None:
        """Release the connection."""
        self._conn.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except psycopg.Error as e:
                raise StorageError(f"verification results failed: {_line(e)}") from e


def _line(e: Exception) -> str:
    """Join a driver's multi-line message into one line (the CLI's errors are one line each)."""
    return " ".join(str(e).split())


def _decode(data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.decode(bytes(data))
    return result


def build_results(settings: Settings) -> ResultStore:
    """The results table of the configured store."""
    if settings.store == "postgres":
        return PostgresResultStore(settings.pg_dsn, settings.pg_schema)
    return SqliteResultStore(settings.sqlite_path)


class StoredVerificationLog:
    """Run full verifications and keep each result (the API's ``VerificationLog``)."""

    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        tree_store: TreeStore,
        results: ResultStore,
        *,
        processes: int = 1,
        pause_gc: bool = False,
    ) -> None:
        self._processes, self._pause_gc = processes, pause_gc
        self._settings = settings
        self._store = store
        self._tree_store = tree_store
        self._results = results
        self._lock = threading.Lock()

    def last(self) -> dict[str, Any] | None:
        """The newest result, whoever ran it."""
        return self._results.last()

    def run(self, progress: Callable[[int], object] | None = None) -> dict[str, Any]:
        """Verify now; keep and return the result."""
        with self._lock:
            result = verify_now(
                self._settings,
                self._store,
                self._tree_store,
                progress,
                processes=self._processes,
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
