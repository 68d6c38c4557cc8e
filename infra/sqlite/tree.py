"""SQLite Merkle tree store (the ``ledger.merkle_log.TreeStore`` port) in the events' file.

Three tables beside the events: ``ledger_tree(level, idx, hash)`` holds every
perfect-subtree hash, written once when its last leaf arrives (level 0: the leaf hashes);
``ledger_tree_size`` is a one-row table with the number of leaves; and
``ledger_checkpoints(size, note)`` the signed checkpoint notes. ``extend`` reads the size and
the tree's right edge, computes the completed nodes (``ledger.merkle_log.completed_runs``) and
writes them with the new size in one ``BEGIN IMMEDIATE`` transaction under the writer lock.
Reads use their own connection, so a proof never waits for a large extend. The PostgreSQL
store (``infra.postgres.tree``) keeps the same tables.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from infra.sqlite.lock import WriterLock
from ledger.errors import StorageError
from ledger.merkle_log import NodeKey, NodeSpan, check_checkpoint_note, check_extend_start, completed_runs

_SQLITE_DDL = (
    (
        "CREATE TABLE IF NOT EXISTS ledger_tree (level INTEGER NOT NULL, idx INTEGER NOT NULL, "
        "hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID"
    ),
    (
        "CREATE TABLE IF NOT EXISTS ledger_tree_size (id INTEGER PRIMARY KEY CHECK (id = 0), "
        "size INTEGER NOT NULL)"
    ),
    "INSERT OR IGNORE INTO ledger_tree_size VALUES (0, 0)",
    "CREATE TABLE IF NOT EXISTS ledger_checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL)",
)
# One statement per level: the run's hashes go in as one blob and are sliced in SQL, which
# inserts about twice as fast as executemany's per-row binding.
_SQLITE_INSERT_RUN = (
    "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?) "
    "INSERT INTO ledger_tree SELECT ?, ? + i, substr(?, 32 * i + 1, 32) FROM s"
)
# One level's run as one blob. SQLite (3.40) does not promise group_concat's order, but it
# aggregates in the order the subquery yields; a reader comparing the blob with the
# recomputed nodes would see any other order as a mismatch, never as a match.
_SQLITE_RUN = (
    "SELECT CAST(group_concat(hash, '') AS BLOB) FROM (SELECT hash FROM ledger_tree "
    "WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx)"
)
# Keys per SQLite statement: two variables each, well under SQLITE_MAX_VARIABLE_NUMBER.
_SQLITE_CHUNK = 400


class SqliteTreeStore:
    """The tree in the event store's SQLite file (WAL; ``BEGIN IMMEDIATE`` for writes)."""

    def __init__(self, path: str | Path, *, lock_timeout: int = 30) -> None:
        self._path = str(path)
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        self._write_lock, self._read_lock = threading.Lock(), threading.Lock()
        self._writer_lock = WriterLock(self._path)
        try:
            self._writer = self._connect(lock_timeout)
            self._writer.execute("PRAGMA synchronous=FULL")
            with self._transaction() as db:
                for statement in _SQLITE_DDL:
                    db.execute(statement)
            self._reader = self._connect(lock_timeout)
        except sqlite3.Error as e:
            msg = f"cannot open the SQLite tree store {self._path}: {e}"
            raise StorageError(msg) from e

    def _connect(self, lock_timeout: int) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=lock_timeout)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock, self._writer_lock.hold(), self._errors():
            db = self._writer
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            db.commit()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._read_lock, self._errors():
            yield self._reader

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            msg = f"SQLite tree store {self._path} failed: {e}"
            raise StorageError(msg) from e

    def tree_size(self) -> int:
        """Number of leaves."""
        with self._read() as db:
            return _size(db)

    def extend(self, start: int, leaf_hashes: Sequence[bytes]) -> None:
        """Write the leaves, the nodes they complete and the new size in one transaction."""
        with self._transaction() as db:
            check_extend_start(_size(db), start)
            for level, lo, run in completed_runs(start, leaf_hashes, lambda keys: _select(db, keys)):
                db.execute(_SQLITE_INSERT_RUN, (len(run), level, lo, b"".join(run)))
            db.execute("UPDATE ledger_tree_size SET size = ? WHERE id = 0", (start + len(leaf_hashes),))

    def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """Stored hashes of ``keys``."""
        with self._read() as db:
            return _select(db, keys)

    def node_runs(self, spans: Sequence[NodeSpan]) -> list[bytes]:
        """Stored hashes per span, concatenated in index order (absent nodes left out)."""
        with self._read() as db:
            return [bytes(db.execute(_SQLITE_RUN, span).fetchone()[0] or b"") for span in spans]

    def add_checkpoint(self, size: int, note: bytes) -> None:
        """Store a checkpoint note (idempotent for identical bytes)."""
        with self._transaction() as db:
            row = db.execute("SELECT note FROM ledger_checkpoints WHERE size = ?", (size,)).fetchone()
            check_checkpoint_note(size, None if row is None else bytes(row[0]), note)
            if row is None:
                db.execute("INSERT INTO ledger_checkpoints VALUES (?, ?)", (size, note))

    def checkpoint(self, size: int) -> bytes | None:
        """The note stored for ``size``."""
        with self._read() as db:
            row = db.execute("SELECT note FROM ledger_checkpoints WHERE size = ?", (size,)).fetchone()
        return None if row is None else bytes(row[0])

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """The checkpoint of the largest size."""
        with self._read() as db:
            row = db.execute(
                "SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1"
            ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def checkpoints(self, start_size: int = 0) -> list[tuple[int, bytes]]:
        """Checkpoints of size ≥ ``start_size``, ascending."""
        with self._read() as db:
            rows = db.execute(
                "SELECT size, note FROM ledger_checkpoints WHERE size >= ? ORDER BY size", (start_size,)
            ).fetchall()
        return [(int(s), bytes(n)) for s, n in rows]

    def close(self) -> None:
        """Close both connections."""
        with self._write_lock, self._read_lock:
            self._writer.close()
            if hasattr(self, "_reader"):
                self._reader.close()
        self._writer_lock.close()


def _size(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT size FROM ledger_tree_size WHERE id = 0").fetchone()[0])


def _select(db: sqlite3.Connection, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
    out: dict[NodeKey, bytes] = {}
    for i in range(0, len(keys), _SQLITE_CHUNK):
        chunk = keys[i : i + _SQLITE_CHUNK]
        values = ",".join(["(?, ?)"] * len(chunk))
        # CROSS JOIN keeps the key list as the outer loop: one primary-key probe per key.
        rows = db.execute(
            f"WITH k(l, i) AS (VALUES {values}) SELECT t.level, t.idx, t.hash "  # noqa: S608
            "FROM k CROSS JOIN ledger_tree t WHERE t.level = k.l AND t.idx = k.i",
            [x for key in chunk for x in key],
        )
        out.update(((level, idx), bytes(h)) for level, idx, h in rows)
    return out
