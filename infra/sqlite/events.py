"""SQLite event store: eventsourcing's application recorder, extended for the hash chain.

Records live in eventsourcing's stored-events table (``ledger_events``) with one extra
column, ``event_id`` (unique: the idempotency key). The rowid (eventsourcing's notification
id) is assigned explicitly as ``position + 1``, so notification ids are dense and the
notification log and our global positions never disagree. ``ledger_heads`` keeps each
stream's end. Appends run in ``BEGIN IMMEDIATE`` transactions, which serialise writers
across threads and processes (queued on :class:`infra.sqlite.lock.WriterLock` first);
WAL with ``synchronous=FULL`` makes each commit durable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, SafeUUID

from eventsourcing.persistence import ConnectionPoolClosedError, PersistenceError
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from infra.sqlite.lock import WriterLock
from ledger.chain import Head, Linker, Pending, Row, StoredColumns, StoredRecord, stream_id
from ledger.errors import LedgerError, StorageError
from ledger.event import Receipt

_SELECT = "SELECT rowid - 1, originator_id, originator_version, event_id, state FROM ledger_events "
# Bulk reads: ids as hex text (the stream id is stored so), built by SQLite, not per row in Python.
_SELECT_COLUMNS = (
    "SELECT rowid - 1, originator_id, originator_version, lower(hex(event_id)), state FROM ledger_events "
    "WHERE rowid > ? ORDER BY rowid LIMIT ?"
)


class SqliteEventStore(SQLiteApplicationRecorder):
    """The embedded default store (one file, e.g. ``var/ledger.sqlite3``)."""

    def __init__(self, path: str | Path, *, lock_timeout: int = 30) -> None:
        path = str(path)
        if path != ":memory:" and "mode=memory" not in path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(SQLiteDatastore(path, lock_timeout=lock_timeout), "ledger_events")
        self._writer_lock = WriterLock(path)
        try:
            self.create_table()
        except Exception as e:
            msg = f"cannot open SQLite store {path}: {e}"
            raise StorageError(msg) from e

    def construct_create_table_statements(self) -> list[str]:
        """Add the event id column and index, and the heads table, to eventsourcing's table."""
        events = (
            "CREATE TABLE IF NOT EXISTS ledger_events ("
            "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, "
            "topic TEXT NOT NULL, state BLOB NOT NULL, event_id BLOB NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version))"
        )
        heads = (
            "CREATE TABLE IF NOT EXISTS ledger_heads (stream TEXT PRIMARY KEY, "
            "stream_position INTEGER NOT NULL, hash BLOB NOT NULL, position INTEGER NOT NULL) "
            "WITHOUT ROWID"
        )
        index = "CREATE UNIQUE INDEX IF NOT EXISTS ledger_events_event_id ON ledger_events (event_id)"
        return [events, index, heads]

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        try:
            with self.datastore.get_connection(commit=write) as conn:
                yield conn._sqlite_conn  # noqa: SLF001 - the adapter owns the transaction
        except LedgerError:
            raise
        except ConnectionPoolClosedError as e:
            msg = "SQLite store is closed"
            raise StorageError(msg) from e
        except (sqlite3.Error, PersistenceError) as e:
            msg = f"SQLite failed: {e}"
            raise StorageError(msg) from e

    def append(self, batches: Sequence[Sequence[Pending]]) -> list[list[Receipt] | LedgerError]:
        """Link and write all batches in one IMMEDIATE transaction."""
        with self._writer_lock.hold(), self._connection(write=True) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                outcomes = self._append_locked(db, batches)
            except BaseException:
                db.rollback()
                raise
            db.commit()
        return outcomes

    def _append_locked(
        self, db: sqlite3.Connection, batches: Sequence[Sequence[Pending]]
    ) -> list[list[Receipt] | LedgerError]:
        pending = [p for b in batches for p in b]
        size = db.execute("SELECT coalesce(max(rowid), 0) FROM ledger_events").fetchone()[0]
        linked = Linker(
            size,
            self._heads_of(db, {p.stream for p in pending}),
            self._existing(db, {p.event_id for p in pending}),
        ).link(batches)
        db.executemany(
            "INSERT INTO ledger_events (rowid, originator_id, originator_version, topic, state, "
            "event_id) VALUES (?, ?, ?, ?, ?, ?)",
            [_row_values(r) for r in linked.rows],
        )
        db.executemany(
            "INSERT INTO ledger_heads VALUES (?, ?, ?, ?) ON CONFLICT (stream) DO UPDATE SET "
            "stream_position = excluded.stream_position, hash = excluded.hash, "
            "position = excluded.position",
            [(s, h.stream_position, h.hash, h.position) for s, h in linked.heads.items()],
        )
        return linked.outcomes

    def _heads_of(self, db: sqlite3.Connection, streams: set[str]) -> dict[str, Head]:
        heads: dict[str, Head] = {}
        names = list(streams)
        for i in range(0, len(names), 500):
            chunk = names[i : i + 500]
            rows = db.execute(
                f"SELECT stream, stream_position, hash, position FROM ledger_heads "  # noqa: S608
                f"WHERE stream IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            heads.update((s, Head(sp, bytes(h), p)) for s, sp, h, p in rows)
        return heads

    def _existing(self, db: sqlite3.Connection, ids: set[UUID]) -> dict[UUID, StoredRecord]:
        found: dict[UUID, StoredRecord] = {}
        keys = [i.bytes for i in ids]
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = db.execute(_SELECT + f"WHERE event_id IN ({','.join('?' * len(chunk))})", chunk)
            found.update((r.event_id, r) for r in map(_stored, rows))
        return found

    def read(self, start: int, limit: int) -> list[StoredRecord]:
        """Records from global position ``start`` on, at most ``limit``."""
        with self._connection(write=False) as db:
            rows = db.execute(_SELECT + "WHERE rowid > ? ORDER BY rowid LIMIT ?", (start, limit))
            return [_stored(r) for r in rows]

    def read_columns(self, start: int, limit: int) -> StoredColumns:
        """Records from global position ``start`` on, at most ``limit``, column by column."""
        with self._connection(write=False) as db:
            rows = db.execute(_SELECT_COLUMNS, (start, limit)).fetchall()
        return StoredColumns.of_rows(rows)

    def read_stream(self, stream: str, start: int = 0, limit: int | None = None) -> list[StoredRecord]:
        """A stream's records from stream position ``start`` on."""
        with self._connection(write=False) as db:
            rows = db.execute(
                _SELECT + "WHERE originator_id = ? AND originator_version >= ? "
                "ORDER BY originator_version LIMIT ?",
                (stream_id(stream).hex, start, -1 if limit is None else limit),
            )
            return [_stored(r) for r in rows]

    def get(self, event_id: str) -> StoredRecord | None:
        """The record appended under ``event_id``."""
        with self._connection(write=False) as db:
            row = db.execute(_SELECT + "WHERE event_id = ?", (UUID(event_id).bytes,)).fetchone()
            return None if row is None else _stored(row)

    def heads(self) -> Iterator[tuple[str, Head]]:
        """Every stream head."""
        with self._connection(write=False) as db:
            rows = db.execute("SELECT stream, stream_position, hash, position FROM ledger_heads").fetchall()
        for s, sp, h, p in rows:
            yield s, Head(sp, bytes(h), p)

    def size(self) -> int:
        """Number of records (the next global position)."""
        with self._connection(write=False) as db:
            return int(db.execute("SELECT coalesce(max(rowid), 0) FROM ledger_events").fetchone()[0])

    def close(self) -> None:
        """Close every pooled connection."""
        self.datastore.close()
        self._writer_lock.close()


def _row_values(r: Row) -> tuple[Any, ...]:
    return (r.position + 1, stream_id(r.stream).hex, r.stream_position, r.type, r.data, r.event_id.bytes)


_new_uuid, _set = object.__new__, object.__setattr__


def _uuid(value: int) -> UUID:
    # UUID(hex=...) / UUID(bytes=...) re-validate and cost more than the rest of a row;
    # the stored columns are already 128-bit values written by this adapter.
    u = _new_uuid(UUID)
    _set(u, "int", value)
    _set(u, "is_safe", SafeUUID.unknown)
    return u


def _stored(row: Any) -> StoredRecord:
    position, originator, version, event_id, state = row
    return StoredRecord(position, _uuid(int(originator, 16)), version, _uuid(int.from_bytes(event_id)), state)
