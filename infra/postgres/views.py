"""PostgreSQL view store: projection views and tracking in the events' own schema.

Same layout as SQLite: ``<schema>.view_<name>(key text COLLATE "C" PRIMARY KEY, version int,
data bytea)`` (byte-order keys, so prefix scans are index range scans on any locale) and
``<schema>.projection_tracking``. A commit is one transaction: the tracking rows are moved
first with an optimistic check (``WHERE position = start``, row-locked until commit), then
documents are upserted from arrays with ``unnest`` and deleted with ``= ANY``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg
from psycopg.sql import SQL, Identifier

from infra.postgres.ddl import DDL_LOCK, one_line
from ledger.errors import ConflictError, LedgerError, StorageError
from projections.ports import Doc, Move, TableWrites, Tracking, upper_bound
from projections.runner import digest_of

_decode = msgspec.json.Decoder(dict).decode


class PostgresViewStore:
    """Views beside the events in one PostgreSQL schema (one dedicated connection)."""

    def __init__(self, dsn: str, schema: str) -> None:
        self._s = Identifier(schema)
        self.dsn = dsn
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
        except psycopg.Error as e:
            msg = f"cannot open PostgreSQL views: {one_line(e)}"
            raise StorageError(msg) from e

    def _t(self, table: str) -> SQL:
        return SQL("{}.{}").format(self._s, Identifier(f"view_{table}"))  # type: ignore[return-value]

    @contextmanager
    def _cur(self, *, tx: bool) -> Iterator[psycopg.Cursor[Any]]:
        try:
            with self._conn.cursor() as cur:
                if tx:
                    with self._conn.transaction():
                        yield cur
                else:
                    yield cur
        except LedgerError:
            raise
        except psycopg.Error as e:
            msg = f"PostgreSQL views failed: {one_line(e)}"
            raise StorageError(msg) from e

    def ensure(self, tables: Collection[str]) -> None:
        """Create the schema, the tracking table and the view tables if missing."""
        with self._cur(tx=True) as cur:
            cur.execute(DDL_LOCK)
            cur.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(self._s))
            cur.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {}.projection_tracking (name text PRIMARY KEY, "
                    "version integer NOT NULL, position bigint NOT NULL)"
                ).format(self._s)
            )
            for t in tables:
                cur.execute(
                    SQL(
                        'CREATE TABLE IF NOT EXISTS {} (key text COLLATE "C" PRIMARY KEY, '
                        "version integer NOT NULL, data bytea NOT NULL)"
                    ).format(self._t(t))
                )

    def tracking(self) -> dict[str, Tracking]:
        """Every projection's tracking row."""
        with self._cur(tx=False) as cur:
            cur.execute(SQL("SELECT name, version, position FROM {}.projection_tracking").format(self._s))
            return {n: Tracking(v, p) for n, v, p in cur.fetchall()}

    def load(self, table: str, keys: Collection[str]) -> dict[str, Doc]:
        """Documents of ``table`` under ``keys``."""
        if not keys:
            return {}
        with self._cur(tx=False) as cur:
            cur.execute(
                SQL("SELECT key, data FROM {} WHERE key = ANY(%s)").format(self._t(table)), (list(keys),)
            )
            return {k: _decode(d) for k, d in cur.fetchall()}

    def commit(self, writes: Mapping[str, TableWrites], moves: Sequence[Move]) -> None:
        """Write rows and advance tracking in one transaction (optimistic check first)."""
        with self._cur(tx=True) as cur:
            for m in moves:
                cur.execute(
                    SQL(
                        "UPDATE {}.projection_tracking SET position = %s "
                        "WHERE name = %s AND version = %s AND position = %s"
                    ).format(self._s),
                    (m.end, m.name, m.version, m.start),
                )
                if cur.rowcount != 1:
                    msg = f"projection {m.name} moved past {m.start} under another runner"
                    raise ConflictError(msg, field="position")
            for table, w in writes.items():
                self._write(cur, table, w)

    def _write(self, cur: psycopg.Cursor[Any], table: str, w: TableWrites) -> None:
        gone = [k for k, d in w.rows.items() if d is None]
        if gone:
            cur.execute(SQL("DELETE FROM {} WHERE key = ANY(%s)").format(self._t(table)), (gone,))
        keys = [k for k, d in w.rows.items() if d is not None]
        if keys:
            cur.execute(
                SQL(
                    "INSERT INTO {} SELECT k, %s, d FROM unnest(%s::text[], %s::bytea[]) AS u(k, d) "
                    "ON CONFLICT (key) DO UPDATE SET version = excluded.version, data = excluded.data"
                ).format(self._t(table)),
                (w.version, keys, [w.rows[k] for k in keys]),
            )

    def reset(self, name: str, version: int, tables: Collection[str]) -> None:
        """Empty ``tables``; tracking of ``name`` back to 0 at ``version``."""
        with self._cur(tx=True) as cur:
            for t in tables:
                cur.execute(SQL("TRUNCATE {}").format(self._t(t)))
            cur.execute(
                SQL(
                    "INSERT INTO {}.projection_tracking VALUES (%s, %s, 0) ON CONFLICT (name) DO UPDATE "
                    "SET version = excluded.version, position = 0"
                ).format(self._s),
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
        with self._cur(tx=False) as cur:
            cur.execute(
                SQL("SELECT data FROM {} WHERE key >= %s AND key < %s ORDER BY key LIMIT %s").format(
                    self._t(table)
                ),
                (prefix, upper_bound(prefix), limit),
            )
            return [bytes(d) for (d,) in cur.fetchall()]

    def digest(self, table: str) -> str:
        """SHA-256 over the table's rows in key order."""
        with self._cur(tx=False) as cur:
            cur.execute(SQL("SELECT key, version, data FROM {} ORDER BY key").format(self._t(table)))
            return digest_of((k, v, bytes(d)) for k, v, d in cur)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
