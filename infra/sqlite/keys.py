"""SQLite key table (``infra.cipher.KeyTable``): wrapped data keys in a file apart from the events."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ledger.errors import StorageError


class SqliteKeyTable:
    """Data keys in their own SQLite file, apart from the events (``var/keys.sqlite3``)."""

    def __init__(self, path: str | Path) -> None:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, key_id TEXT NOT NULL, "
                "wrapped BLOB, created_ms INTEGER NOT NULL, erased_ms INTEGER)"
            )
        except (sqlite3.Error, OSError) as e:
            msg = f"cannot open the SQLite key table {path}: {e}"
            raise StorageError(msg) from e

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            msg = f"{what}: {e}"
            raise StorageError(msg) from e

    def load(self, subjects: Sequence[str]) -> dict[str, tuple[str, bytes | None]]:
        """Known subjects' key ids and wrapped keys."""
        out: dict[str, tuple[str, bytes | None]] = {}
        with self._errors("cannot read data keys"):
            for i in range(0, len(subjects), 500):
                chunk = list(subjects[i : i + 500])
                marks = ",".join("?" * len(chunk))
                q = f"SELECT subject, key_id, wrapped FROM subject_keys WHERE subject IN ({marks})"  # noqa: S608
                out.update(
                    (s, (k, None if w is None else bytes(w))) for s, k, w in self._db.execute(q, chunk)
                )
        return out

    def insert(self, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Insert new keys (a concurrent insert for the same subject wins, ours is dropped)."""
        now = int(time.time() * 1000)
        with self._errors("cannot store data keys"):
            self._db.executemany(
                "INSERT OR IGNORE INTO subject_keys VALUES (?, ?, ?, ?, NULL)", [(*r, now) for r in rows]
            )

    def destroy(self, subject: str, at_ms: int) -> bool:
        """Delete the wrapped key, keep a tombstone (a subject without a key gets one too: False)."""
        # Tombstone first: rows are never deleted, so a key inserted concurrently is either
        # refused by the tombstone or already there for the UPDATE to destroy.
        with self._errors("cannot erase a data key"):
            cur = self._db.execute(
                "INSERT OR IGNORE INTO subject_keys VALUES (?, 'erased', NULL, ?, ?)", (subject, at_ms, at_ms)
            )
            if cur.rowcount > 0:
                return False
            cur = self._db.execute(
                "UPDATE subject_keys SET wrapped = NULL, erased_ms = ? "
                "WHERE subject = ? AND wrapped IS NOT NULL",
                (at_ms, subject),
            )
            return cur.rowcount > 0

    def close(self) -> None:
        """Close the file."""
        self._db.close()
