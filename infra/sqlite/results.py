"""SQLite verification results (``infra.verification.ResultStore``) in the events' file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

from infra.sqlite.lock import WriterLock
from ledger.errors import StorageError

_DDL = (
    "CREATE TABLE IF NOT EXISTS ledger_verifications (id INTEGER PRIMARY KEY, finished_at TEXT NOT NULL, "
    "ok BOOLEAN NOT NULL, result BLOB NOT NULL)"
)


class SqliteResultStore:
    """Results in the embedded store's SQLite file."""

    def __init__(self, path: str) -> None:
        self._lock = WriterLock(path)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            with self._lock.hold():
                self._db.execute(_DDL)
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


def _decode(data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.decode(bytes(data))
    return result
