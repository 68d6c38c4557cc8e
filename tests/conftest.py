"""Shared fixtures: stores on SQLite and PostgreSQL, a ledger wired like production."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import psycopg
import pytest

from infra.backend import Backend
from infra.cipher import AesGcmFieldCipher
from infra.postgres import PostgresBackend
from infra.sqlite import SqliteBackend
from ledger.application import Ledger
from ledger.ports import EventStore, FieldCipher

PG_DSN = os.environ.get("LEDGER_TEST_PG_DSN", "dbname=test host=/var/run/postgresql user=postgres")
KEK = bytes(range(32))


class Closable(Protocol):
    """Anything with a ``close``."""

    def close(self) -> None: ...


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
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each test using this runs once per storage backend, built as the composition root builds it."""
    if request.param == "postgres":
        return PostgresBackend(request.getfixturevalue("pg_dsn"), request.getfixturevalue("pg_schema"))
    return SqliteBackend(str(tmp_path / "ledger.sqlite3"), str(tmp_path / "keys.sqlite3"))


T = TypeVar("T", bound=Closable)


class Opened:
    """The stores a test opened, closed after it."""

    def __init__(self) -> None:
        self.stores: list[Closable] = []

    def track(self, open_: Callable[[], T]) -> Callable[[], T]:
        """Wrap ``open_`` so that every store it opens is closed after the test."""

        def factory() -> T:
            store = open_()
            self.stores.append(store)
            return store

        return factory


@pytest.fixture
def opened() -> Iterator[Opened]:
    """Close, after the test, every store opened through ``opened.track``."""
    tracked = Opened()
    yield tracked
    for s in tracked.stores:
        s.close()


@pytest.fixture
def make_store(backend: Backend, opened: Opened) -> StoreFactory:
    """Open (and re-open) the event store of the current backend; all opened stores are closed after."""
    return opened.track(backend.events)


@pytest.fixture
def make_cipher(backend: Backend) -> Callable[[], FieldCipher]:
    """A per-subject AES-GCM cipher over the backend's key table."""
    return lambda: AesGcmFieldCipher(backend.keys(), KEK)


@pytest.fixture
def ledger(make_store: StoreFactory, make_cipher: Callable[[], FieldCipher]) -> Iterator[Ledger]:
    """A ledger over the current backend, wired like production (group commit on)."""
    led = Ledger(make_store(), make_cipher(), FixedClock())
    yield led
    led.close()
