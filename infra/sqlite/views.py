"""SQLite view store: projection views and tracking in the events' own database file.

Each view table is ``view_<name>(key TEXT PRIMARY KEY, version INTEGER, data BLOB) WITHOUT
ROWID`` (clustered by key, so a prefix scan such as one entity's audit history is one range
read); ``projection_tracking`` holds each projection's version and next position. A commit
is one ``BEGIN IMMEDIATE`` transaction: rows, deletes and tracking moves, after checking
that no other runner moved the tracking in between.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from infra.sqlite.lock import WriterLock
from ledger.errors import ConflictError, LedgerError, StorageError
from projections.ports import Doc, Move, TableWrites, Tracking, upper_bound
from projections.runner import digest_of

_CHUNK = 500
_decode = msgspec.json.Decoder(dict).decode


def _t(table: str) -> str:
    if not table.replace("_", "").isalnum():
        msg = f"bad view table name {table!r}"
        raise StorageError(msg)
    return f"view_{table}"


class SqliteViewStore:
    """Views beside the events in one SQLite file (WAL; one writer at a time)."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self._writer_lock = WriterLock(path)
        try:
            self._db = sqlite3.connect(
                str(path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as e:
            msg = f"cannot open SQLite views in {path}: {e}"
            raise StorageError(msg) from e

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._writer_lock.hold():
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.rollback()
                    raise
                self._db.commit()
        except LedgerError:
            raise
        except sqlite3.Error as e:
            msg = f"SQLite views failed: {e}"
            raise StorageError(msg) from e

    def ensure(self, tables: Collection[str]) -> None:
        """Create the tracking table and the view tables if missing."""
        with self._tx() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS projection_tracking (name TEXT PRIMARY KEY, "
                "version INTEGER NOT NULL, position INTEGER NOT NULL) WITHOUT ROWID"
            )
            for t in tables:
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS {_t(t)} (key TEXT PRIMARY KEY, version INTEGER NOT NULL, "
                    "data BLOB NOT NULL) WITHOUT ROWID"
                )

    def tracking(self) -> dict[str, Tracking]:
        """Every projection's tracking row."""
        rows = self._read("SELECT name, version, position FROM projection_tracking", ())
        return {n: Tracking(v, p) for n, v, p in rows}

    def _read(self, sql: str, params: Sequence[object]) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            msg = f"SQLite views failed: {e}"
            raise StorageError(msg) from e

    def load(self, table: str, keys: Collection[str]) -> dict[str, Doc]:
        """Documents of ``table`` under ``keys``."""
        names, found = list(keys), dict[str, Doc]()
        for i in range(0, len(names), _CHUNK):
            chunk = names[i : i + _CHUNK]
            sql = f"SELECT key, data FROM {_t(table)} WHERE key IN ({','.join('?' * len(chunk))})"  # noqa: S608
            found.update((str(k), _decode(d)) for k, d in self._read(sql, chunk))
        return found

    def commit(self, writes: Mapping[str, TableWrites], moves: Sequence[Move]) -> None:
        """Write rows and advance tracking in one transaction (optimistic check first)."""
        with self._tx() as db:
            for m in moves:
                cur = db.execute(
                    "UPDATE projection_tracking SET position = ? "
                    "WHERE name = ? AND version = ? AND position = ?",
                    (m.end, m.name, m.version, m.start),
                )
                if cur.rowcount != 1:
                    msg = f"projection {m.name} moved past {m.start} under another runner"
                    raise ConflictError(msg, field="position")
            for table, w in writes.items():
                t = _t(table)
                db.executemany(
                    f"DELETE FROM {t} WHERE key = ?",  # noqa: S608 - table names are validated by _t
                    [(k,) for k, d in w.rows.items() if d is None],
                )
                db.executemany(
                    f"INSERT INTO {t} VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "  # noqa: S608
                    "version = excluded.version, data = excluded.data",
                    [(k, w.version, d) for k, d in w.rows.items() if d is not None],
                )

    def reset(self, name: str, version: int, tables: Collection[str]) -> None:
        """Empty ``tables``; tracking of ``name`` back to 0 at ``version``."""
        with self._tx() as db:
            for t in tables:
                db.execute(f"DELETE FROM {_t(t)}")  # noqa: S608
            db.execute(
                "INSERT INTO projection_tracking VALUES (?, ?, 0) ON CONFLICT (name) DO UPDATE SET "
                "version = excluded.version, position = 0",
                (name, version),
            )

    def get(self, table: str, key: str) -> Doc | None:
        """One document."""
        return self.load(table, [key]).get(key)

    def scan(self, table: str, prefix: str, limit: int | None = None) -> list[Doc]:
        """Documents whose key starts with ``prefix``, in key order."""
        return [_decode(d) for d in self.scan_raw(table, prefix, limit)]

    def scan_raw(self, table: str, prefix: str, limit: int | None = None) -> list[bytes]:
        """Stored bytes of the documents whose key starts with ``prefix``, in key order."""
        rows = self._read(
            f"SELECT data FROM {_t(table)} WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",  # noqa: S608
            (prefix, upper_bound(prefix), -1 if limit is None else limit),
        )
        return [bytes(d) for (d,) in rows]

    def digest(self, table: str) -> str:
        """SHA-256 over the table's rows in key order."""
        rows = self._read(f"SELECT key, version, data FROM {_t(table)} ORDER BY key", ())  # noqa: S608
        return digest_of((str(k), int(v), bytes(d)) for k, v, d in rows)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
        self._writer_lock.close()
