"""Shared fixtures: stores on SQLite and PostgreSQL, a ledger wired like production."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from infra.keys import AesGcmFieldCipher, PostgresKeyTable, SqliteKeyTable
from infra.postgres import PostgresEventStore, datastore
from infra.sqlite import SqliteEventStore
from ledger.application import Ledger
from ledger.ports import EventStore, FieldCipher

PG_DSN = os.environ.get("LEDGER_TEST_PG_DSN", "dbname=test host=/var/run/postgresql user=postgres")
KEK = bytes(range(32))


class FixedClock:
    """A clock that advances 1 ms per reading from a fixed instant."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        """The next millisecond."""
        self.ms += 1
        return self.ms


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as c:
            c.execute("SELECT 1")
    except psycopg.Error as e:
        return str(e).strip().splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The PostgreSQL DSN; skips without a server, but fails under CI=true."""
    problem = _pg_reachable()
    if problem is not None:
        reason = f"PostgreSQL not reachable at {PG_DSN!r}: {problem}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return PG_DSN


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A fresh schema for one test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


StoreFactory = Callable[[], EventStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per store backend."""
    return str(request.param)


@pytest.fixture
def make_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Open (and re-open) the store of the current backend; all opened stores are closed after."""
    opened: list[EventStore] = []
    if backend == "postgres":
        schema = request.getfixturevalue("pg_schema")
        dsn = request.getfixturevalue("pg_dsn")

        def factory() -> EventStore:
            store = PostgresEventStore(datastore(dsn, schema=schema))
            opened.append(store)
            return store
    else:

        def factory() -> EventStore:
            store = SqliteEventStore(tmp_path / "ledger.sqlite3")
            opened.append(store)
            return store

    yield factory
    for s in opened:
        s.close()


@pytest.fixture
def make_cipher(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], FieldCipher]:
    """A per-subject AES-GCM cipher over the backend's key table."""

    def factory() -> FieldCipher:
        if backend == "postgres":
            table = PostgresKeyTable(request.getfixturevalue("pg_dsn"), request.getfixturevalue("pg_schema"))
            return AesGcmFieldCipher(table, KEK)
        return AesGcmFieldCipher(SqliteKeyTable(tmp_path / "keys.sqlite3"), KEK)

    return factory


@pytest.fixture
def ledger(make_store: StoreFactory, make_cipher: Callable[[], FieldCipher]) -> Iterator[Ledger]:
    """A ledger over the current backend, wired like production (group commit on)."""
    led = Ledger(make_store(), make_cipher(), FixedClock())
    yield led
    led.close()
