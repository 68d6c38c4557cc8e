"""PostgreSQL key table (``infra.cipher.KeyTable``): wrapped data keys in the events' schema."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import psycopg

from infra.postgres.ddl import DDL_LOCK
from ledger.errors import StorageError


class PostgresKeyTable:
    """Data keys in their own table (``ledger_subject_keys``) of the configured schema."""

    def __init__(self, dsn: str, schema: str = "public") -> None:
        try:
            self._db = psycopg.connect(dsn, autocommit=True)
            self._t = f'"{schema}".ledger_subject_keys'
            with self._db.transaction():
                self._db.execute(DDL_LOCK)
                self._db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {self._t} (subject text PRIMARY KEY, key_id text NOT NULL, "
                    "wrapped bytea, created_ms bigint NOT NULL, erased_ms bigint)"
                )
        except psycopg.Error as e:
            msg = f"cannot open PostgreSQL key table: {e}"
            raise StorageError(msg) from e
        self._lock = threading.Lock()

    def load(self, subjects: Sequence[str]) -> dict[str, tuple[str, bytes | None]]:
        """Known subjects' key ids and wrapped keys."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT subject, key_id, wrapped FROM {self._t} WHERE subject = ANY(%s)",  # noqa: S608
                (list(subjects),),
            ).fetchall()
        return {s: (k, None if w is None else bytes(w)) for s, k, w in rows}

    def insert(self, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Insert new keys; a concurrent insert for the same subject wins."""
        now = int(time.time() * 1000)
        with self._lock, self._db.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self._t} VALUES (%s, %s, %s, %s, NULL) ON CONFLICT DO NOTHING",  # noqa: S608
                [(*r, now) for r in rows],
            )

    def destroy(self, subject: str, at_ms: int) -> bool:
        """Delete the wrapped key, keep a tombstone."""
        with self._lock:
            cur = self._db.execute(
                f"INSERT INTO {self._t} VALUES (%s, 'erased', NULL, %s, %s) ON CONFLICT (subject) DO UPDATE "  # noqa: S608
                f"SET wrapped = NULL, erased_ms = excluded.erased_ms WHERE {self._t}.wrapped IS NOT NULL",
                (subject, at_ms, at_ms),
            )
            return cur.rowcount > 0

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
