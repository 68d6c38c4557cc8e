"""PostgreSQL key table (``infra.cipher.KeyTable``): wrapped data keys in the events' schema."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg

from infra.postgres.ddl import DDL_LOCK, one_line
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
            msg = f"cannot open PostgreSQL key table: {one_line(e)}"
            raise StorageError(msg) from e
        self._lock = threading.Lock()

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except psycopg.Error as e:
                msg = f"{what}: {one_line(e)}"
                raise StorageError(msg) from e

    def load(self, subjects: Sequence[str]) -> dict[str, tuple[str, bytes | None]]:
        """Known subjects' key ids and wrapped keys."""
        with self._errors("cannot read data keys"):
            rows = self._db.execute(
                f"SELECT subject, key_id, wrapped FROM {self._t} WHERE subject = ANY(%s)",  # noqa: S608
                (list(subjects),),
            ).fetchall()
        return {s: (k, None if w is None else bytes(w)) for s, k, w in rows}

    def insert(self, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Insert new keys; a concurrent insert for the same subject wins."""
        now = int(time.time() * 1000)
        with self._errors("cannot store data keys"), self._db.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self._t} VALUES (%s, %s, %s, %s, NULL) ON CONFLICT DO NOTHING",  # noqa: S608
                [(*r, now) for r in rows],
            )

    def destroy(self, subject: str, at_ms: int) -> bool:
        """Delete the wrapped key, keep a tombstone (a subject without a key gets one too: False)."""
        # Tombstone first: rows are never deleted, so a key inserted concurrently is either
        # refused by the tombstone or already there for the UPDATE to destroy.
        with self._errors("cannot erase a data key"):
            cur = self._db.execute(
                f"INSERT INTO {self._t} VALUES (%s, 'erased', NULL, %s, %s) ON CONFLICT DO NOTHING",  # noqa: S608
                (subject, at_ms, at_ms),
            )
            if cur.rowcount > 0:
                return False
            cur = self._db.execute(
                f"UPDATE {self._t} SET wrapped = NULL, erased_ms = %s "  # noqa: S608
                "WHERE subject = %s AND wrapped IS NOT NULL",
                (at_ms, subject),
            )
            return cur.rowcount > 0

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
