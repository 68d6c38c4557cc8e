"""PostgreSQL verification results (``infra.verification.ResultStore``) in the events' schema."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg
from psycopg.sql import SQL, Identifier

from infra.postgres.ddl import DDL_LOCK, one_line
from ledger.errors import StorageError

_DDL = (
    "CREATE TABLE IF NOT EXISTS {t} (id bigserial PRIMARY KEY, finished_at TEXT NOT NULL, "
    "ok BOOLEAN NOT NULL, result bytea NOT NULL)"
)


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
                self._conn.execute(SQL(_DDL).format(t=self._table))
        except psycopg.Error as e:
            raise StorageError(f"cannot open verification results in PostgreSQL: {one_line(e)}") from e

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
                raise StorageError(f"verification results failed: {one_line(e)}") from e


def _decode(data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.decode(bytes(data))
    return result
