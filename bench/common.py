"""Shared benchmark helpers: events, timing, result rows, machine facts, PostgreSQL schemas."""

from __future__ import annotations

import gc
import os
import platform
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, TypeVar

import psycopg

PG_DSN = os.environ.get("LEDGER_BENCH_PG_DSN", "dbname=test host=/var/run/postgresql user=postgres")
STREAMS = 500
OCCURRED_AT = "2026-01-01T00:00:00.000Z"
ACTOR = {"kind": "service", "id": "bench"}

T = TypeVar("T")


def flag_event(rng: random.Random) -> dict[str, Any]:
    """One valid ``feature_flag.changed`` event on one of ``STREAMS`` streams."""
    k = rng.randrange(STREAMS)
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": "feature_flag.changed",
        "schema_version": 1,
        "stream": f"FeatureFlag:f{k}",
        "occurred_at": OCCURRED_AT,
        "actor": ACTOR,
        "trace_id": f"{rng.getrandbits(128):032x}",
        "jurisdiction": "MT",
        "payload": {"flag": f"f{k}", "enabled": rng.random() < 0.5, "rollout_percent": rng.randrange(101)},
    }


def bonus_event(rng: random.Random) -> dict[str, Any]:
    """One valid ``bonus_rule.changed`` event (a heavier payload: money, lists, a timestamp)."""
    k = rng.randrange(STREAMS)
    config = {
        "name": f"Welcome {k}",
        "kind": "deposit_match",
        "match_percent": "100.00",
        "max_bonus": {"amount": "200.00", "currency": "EUR"},
        "min_deposit": {"amount": "10.00", "currency": "EUR"},
        "wagering_multiplier": 35,
        "eligible_games": ["slots", "live-roulette"],
        "jurisdictions": ["MT", "DE"],
        "valid_from": OCCURRED_AT,
        "terms_version": "t-7",
    }
    event = flag_event(rng)
    event.update(type="bonus_rule.changed", stream=f"BonusRule:br{k}",
                 payload={"rule_id": f"br{k}", "config": config, "reason": "bench"})  # fmt: skip
    return event


def make_events(
    count: int, seed: int, factory: Callable[[random.Random], dict[str, Any]] = flag_event
) -> list[dict[str, Any]]:
    """``count`` distinct events (fresh ids), reproducible from ``seed``."""
    rng = random.Random(seed)
    return [factory(rng) for _ in range(count)]


@dataclass(frozen=True)
class Result:
    """One measured row of the report."""

    section: str
    name: str
    events: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the benchmark's own pre-built inputs out of the garbage collector's scans.

    Without this, full (generation 2) collections walk the hundred thousand event dicts the
    benchmark holds, and the ledger looks up to 1.7x slower than it is in a service.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def timed(section: str, name: str, events: int, run: Callable[[], object], note: str = "") -> Result:
    """Run ``run`` once and time it with ``perf_counter`` (inputs frozen out of the GC)."""
    with frozen_heap():
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
    return Result(section, name, events, seconds, note)


def pg_problem(dsn: str = PG_DSN) -> str | None:
    """Why PostgreSQL cannot be used (None when it answers)."""
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return None


def pg_version(dsn: str = PG_DSN) -> str:
    """The server's version string (short form)."""
    with psycopg.connect(dsn, connect_timeout=3) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


@contextmanager
def fresh_schema(dsn: str = PG_DSN) -> Iterator[str]:
    """Create a uniquely named schema; drop it (and everything in it) afterwards."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def machine(pg: str | None, *, uses_pg: bool = True) -> str:
    """One line describing the machine and the library versions (``uses_pg=False``: no PostgreSQL part)."""
    libs = " · ".join(f"{n} {version(n)}" for n in ("eventsourcing", "psycopg", "msgspec"))
    load = " · load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    postgres = f"PostgreSQL {pg or 'unreachable'} · " if uses_pg else ""
    return (
        f"{os.cpu_count()} cores ({platform.machine()}){load} · Python {platform.python_version()} · "
        f"{postgres}SQLite {sqlite3.sqlite_version} · {libs}"
    )
