"""SQLite key table (``infra.cipher.KeyTable``): wrapped data keys in a file apart from the events."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from ledger.errors import StorageError


class SqliteKeyTable:
    """Data keys in their own SQLite file, apart from the events (``var/keys.sqlite3``)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, key_id TEXT NOT NULL, "
            "wrapped BLOB, created_ms INTEGER NOT NULL, erased_ms INTEGER)"
        )

    def load(self, subjects: Sequence[str]) -> dict[str, tuple[str, bytes | None]]:
        """Known subjects' key ids and wrapped keys."""
        out: dict[str, tuple[str, bytes | None]] = {}
        for i in range(0, len(subjects), 500):
            chunk = list(subjects[i : i + 500])
            marks = ",".join("?" * len(chunk))
            q = f"SELECT subject, key_id, wrapped FROM subject_keys WHERE subject IN ({marks})"  # noqa: S608
            out.update((s, (k, None if w is None else bytes(w))) for s, k, w in self._db.execute(q, chunk))
        return out

    def insert(self, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Insert new keys (a concurrent insert for the same subject wins, ours is dropped)."""
        now = int(time.time() * 1000)
        try:
            self._db.executemany(
                "INSERT OR IGNORE INTO subject_keys VALUES (?, ?, ?, ?, NULL)", [(*r, now) for r in rows]
            )
        except sqlite3.Error as e:
            msg = f"cannot store data keys: {e}"
            raise StorageError(msg) from e

    def destroy(self, subject: str, at_ms: int) -> bool:
        """Delete the wrapped key, keep a tombstone."""
        cur = self._db.execute(
            "INSERT INTO subject_keys VALUES (?, 'erased', NULL, ?, ?) ON CONFLICT (subject) DO UPDATE "
            "SET wrapped = NULL, erased_ms = excluded.erased_ms WHERE subject_keys.wrapped IS NOT NULL",
            (subject, at_ms, at_ms),
        )
        return cur.rowcount > 0

    def close(self) -> None:
        """Close the file."""
        self._db.close()
