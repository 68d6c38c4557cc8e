"""PostgreSQL event store: eventsourcing's application recorder, extended for the hash chain.

Same layout as the SQLite store: eventsourcing's stored-events table (``ledger_events``)
plus a unique ``event_id`` column, notification ids assigned explicitly as ``position + 1``
(so they are dense: eventsourcing's bigserial leaves gaps after a failed insert), and a
``ledger_heads`` table. An append takes eventsourcing's ``EXCLUSIVE`` table lock (readers are
not blocked), links the batches, writes the rows with ``COPY`` and the heads with one
upsert, and commits once: one durable commit per group of batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from eventsourcing.persistence import PersistenceError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.postgres.ddl import DDL_LOCK, one_line
from ledger.chain import Head, Linker, Pending, StoredColumns, StoredRecord, stream_id
from ledger.errors import LedgerError, StorageError
from ledger.event import Receipt

TABLE = "ledger_events"


class PostgresEventStore(PostgresApplicationRecorder):
    """The production store: one PostgreSQL schema holds events, heads (and later views)."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        try:  # the recorder connects at once (type adapters)
            super().__init__(datastore, events_table_name=TABLE)
        except (PersistenceError, psycopg.Error) as e:
            msg = f"cannot connect to PostgreSQL ({_where(datastore)}): {_cause(datastore) or one_line(e)}"
            raise StorageError(msg) from e
        q = {"s": Identifier(datastore.schema), "t": Identifier(TABLE)}
        self.sql_create_statements[self.create_table_statement_index] = SQL(
            "CREATE TABLE IF NOT EXISTS {s}.{t} (originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, topic text NOT NULL, state bytea NOT NULL, "
            "notification_id bigserial, event_id uuid NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version))"
        ).format(**q)
        self.sql_create_statements += [
            SQL("CREATE UNIQUE INDEX IF NOT EXISTS ledger_events_event_id ON {s}.{t} (event_id)").format(**q),
            SQL(
                "CREATE TABLE IF NOT EXISTS {s}.ledger_heads (stream text PRIMARY KEY, "
                "stream_position bigint NOT NULL, hash bytea NOT NULL, position bigint NOT NULL)"
            ).format(**q),
        ]
        self._q = q
        self._select = SQL(
            "SELECT notification_id - 1 AS position, originator_id, originator_version, event_id, "
            "state FROM {s}.{t} "
        ).format(**q)
        # Bulk reads: ids as hex text made by the server; tuples in binary format, not dicts.
        self._select_columns = SQL(
            "SELECT notification_id - 1, encode(uuid_send(originator_id), 'hex'), originator_version, "
            "encode(uuid_send(event_id), 'hex'), state FROM {s}.{t} WHERE notification_id > %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(**q)
        try:
            with self.datastore.transaction(commit=True) as cur:
                # Concurrent CREATE ... IF NOT EXISTS races on the catalog ("tuple concurrently
                # updated"); every process opening a store serialises its DDL on one lock.
                cur.execute(DDL_LOCK)
                cur.execute(SQL("CREATE SCHEMA IF NOT EXISTS {s}").format(**q))
                for statement in self.sql_create_statements:
                    if "CREATE TYPE" in statement.as_string():  # no IF NOT EXISTS for types
                        with suppress(psycopg.errors.DuplicateObject), cur.connection.transaction():
                            cur.execute(statement, prepare=False)
                self._create_table(cur)
            self.datastore.register_type_adapters()
        except (PersistenceError, psycopg.Error) as e:
            msg = f"cannot open PostgreSQL store: {one_line(e)}"
            raise StorageError(msg) from e

    @contextmanager
    def _cursor(self, *, raw: bool = False) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor with dict rows (``raw``: tuple rows in binary format), errors translated."""
        try:
            with (
                self.datastore.get_connection() as conn,
                conn.cursor(row_factory=tuple_row, binary=True) if raw else conn.cursor() as cur,
            ):
                yield cur
        except LedgerError:
            raise
        except (PersistenceError, psycopg.Error) as e:
            msg = f"PostgreSQL failed: {one_line(e)}"
            raise StorageError(msg) from e

    def append(self, batches: Sequence[Sequence[Pending]]) -> list[list[Receipt] | LedgerError]:
        """Link and write all batches in one transaction under the table lock."""
        pending = [p for b in batches for p in b]
        with self._cursor() as cur, cur.connection.transaction():
            self._lock_table(cur)
            cur.execute(SQL("SELECT coalesce(max(notification_id), 0) AS n FROM {s}.{t}").format(**self._q))
            size = cur.fetchone()["n"]  # type: ignore[index]
            linked = Linker(
                size,
                self._heads_of(cur, [p.stream for p in pending]),
                self._existing(cur, [p.event_id for p in pending]),
            ).link(batches)
            if not linked.rows:
                return linked.outcomes
            self._notify_channel(cur)
            copy_sql = SQL(
                "COPY {s}.{t} (notification_id, originator_id, originator_version, topic, state, "
                "event_id) FROM STDIN (FORMAT BINARY)"
            ).format(**self._q)
            with cur.copy(copy_sql) as copy:
                copy.set_types(["bigint", "uuid", "bigint", "text", "bytea", "uuid"])
                for r in linked.rows:
                    copy.write_row(
                        (r.position + 1, stream_id(r.stream), r.stream_position, r.type, r.data, r.event_id)
                    )
            # The heads travel as one JSON document: dumping four typed arrays of a
            # thousand elements each costs more client CPU than the whole COPY.
            heads = msgspec.json.encode(
                [[name, h.stream_position, h.hash.hex(), h.position] for name, h in linked.heads.items()]
            ).decode()
            cur.execute(
                SQL(
                    "INSERT INTO {s}.ledger_heads SELECT x->>0, (x->>1)::bigint, decode(x->>2, 'hex'), "
                    "(x->>3)::bigint FROM jsonb_array_elements(%s::jsonb) AS x ON CONFLICT (stream) "
                    "DO UPDATE SET stream_position = excluded.stream_position, hash = excluded.hash, "
                    "position = excluded.position"
                ).format(**self._q),
                (heads,),
            )
        return linked.outcomes

    def _heads_of(self, cur: psycopg.Cursor[Any], streams: list[str]) -> dict[str, Head]:
        cur.execute(
            SQL(
                "SELECT stream, stream_position, hash, position FROM {s}.ledger_heads "
                "WHERE stream IN (SELECT jsonb_array_elements_text(%s::jsonb))"
            ).format(**self._q),
            (msgspec.json.encode(list(set(streams))).decode(),),
        )
        return {r["stream"]: Head(r["stream_position"], bytes(r["hash"]), r["position"]) for r in cur}

    def _existing(self, cur: psycopg.Cursor[Any], ids: list[UUID]) -> dict[UUID, StoredRecord]:
        cur.execute(
            self._select + SQL("WHERE event_id = ANY(%s::uuid[])"), ("{" + ",".join(map(str, ids)) + "}",)
        )
        return {r.event_id: r for r in map(_stored, cur)}

    def read(self, start: int, limit: int) -> list[StoredRecord]:
        """Records from global position ``start`` on, at most ``limit``."""
        with self._cursor() as cur:
            cur.execute(
                self._select + SQL("WHERE notification_id > %s ORDER BY notification_id LIMIT %s"),
                (start, limit),
            )
            return [_stored(r) for r in cur]

    def read_columns(self, start: int, limit: int) -> StoredColumns:
        """Records from global position ``start`` on, at most ``limit``, column by column."""
        with self._cursor(raw=True) as cur:
            cur.execute(self._select_columns, (start, limit))
            return StoredColumns.of_rows(cur.fetchall())

    def read_stream(self, stream: str, start: int = 0, limit: int | None = None) -> list[StoredRecord]:
        """A stream's records from stream position ``start`` on."""
        with self._cursor() as cur:
            cur.execute(
                self._select
                + SQL(
                    "WHERE originator_id = %s AND originator_version >= %s "
                    "ORDER BY originator_version LIMIT %s"
                ),
                (stream_id(stream), start, limit),
            )
            return [_stored(r) for r in cur]

    def get(self, event_id: str) -> StoredRecord | None:
        """The record appended under ``event_id``."""
        with self._cursor() as cur:
            cur.execute(self._select + SQL("WHERE event_id = %s"), (UUID(event_id),))
            row = cur.fetchone()
            return None if row is None else _stored(row)

    def heads(self) -> Iterator[tuple[str, Head]]:
        """Every stream head."""
        with self._cursor() as cur:
            cur.execute(
                SQL("SELECT stream, stream_position, hash, position FROM {s}.ledger_heads").format(**self._q)
            )
            rows = cur.fetchall()
        for r in rows:
            yield r["stream"], Head(r["stream_position"], bytes(r["hash"]), r["position"])

    def size(self) -> int:
        """Number of records (the next global position)."""
        with self._cursor() as cur:
            cur.execute(SQL("SELECT coalesce(max(notification_id), 0) AS n FROM {s}.{t}").format(**self._q))
            row = cur.fetchone()
            return int(row["n"]) if row else 0

    def close(self) -> None:
        """Close the connection pool."""
        self.datastore.close()


def _stored(r: Any) -> StoredRecord:
    return StoredRecord(
        r["position"], r["originator_id"], r["originator_version"], r["event_id"], bytes(r["state"])
    )


def _where(ds: PostgresDatastore) -> str:
    info = ds.pool.kwargs if isinstance(ds.pool.kwargs, dict) else {}  # never the password
    return f"host={info.get('host')} port={info.get('port') or 5432} dbname={info.get('dbname')}"


def _cause(ds: PostgresDatastore) -> str:
    """Why a direct connection fails (the pool only reports its timeout), or "" if it succeeds."""
    info = ds.pool.kwargs if isinstance(ds.pool.kwargs, dict) else {}
    params = {k: v for k, v in info.items() if k in {"dbname", "host", "port", "user", "password"} and v}
    try:
        psycopg.connect(**params, connect_timeout=3).close()
    except psycopg.Error as e:
        return one_line(e)
    return ""


def datastore(
    dsn: str, *, schema: str = "public", pool_size: int = 4, lock_timeout: int = 30
) -> PostgresDatastore:
    """Build eventsourcing's datastore from a libpq connection string.

    Raises:
        StorageError: the DSN lacks a database name.
    """
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    if not info.get("dbname"):
        msg = f"PostgreSQL DSN {dsn!r} names no database (add dbname=… or /dbname)"
        raise StorageError(msg)
    return PostgresDatastore(
        dbname=str(info["dbname"]),
        host=str(info.get("host", "/var/run/postgresql")),
        port=str(info.get("port", 5432)),
        user=str(info.get("user", "postgres")),
        password=str(info.get("password", "")),
        schema=schema,
        pool_size=pool_size,
        lock_timeout=lock_timeout,
        connect_timeout=5,
    )
