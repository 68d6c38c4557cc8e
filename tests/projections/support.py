"""Helpers for projection tests: view stores on the current backend, demo history, raw events."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from infra.demo import demo_events
from infra.projection_postgres import PostgresViewStore
from infra.projection_sqlite import SqliteViewStore
from ledger.application import Ledger
from projections.ports import ViewStore
from projections.registry import all_projections
from projections.runner import Projection, ProjectionRunner

ViewFactory = Callable[[], ViewStore]
RunnerFactory = Callable[..., ProjectionRunner]


@pytest.fixture
def make_views(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ViewFactory]:
    """Open view stores in the current backend's event database; all closed after the test."""
    opened: list[ViewStore] = []

    def factory() -> ViewStore:
        views: ViewStore
        if backend == "postgres":
            views = PostgresViewStore(request.getfixturevalue("pg_dsn"), request.getfixturevalue("pg_schema"))
        else:
            views = SqliteViewStore(tmp_path / "ledger.sqlite3")
        opened.append(views)
        return views

    yield factory
    for v in opened:
        v.close()


@pytest.fixture
def make_runner(ledger: Ledger, make_views: ViewFactory) -> RunnerFactory:
    """Build a runner over the test ledger's store (all projections unless given)."""

    def factory(projections: Sequence[Projection] | None = None, batch: int = 500) -> ProjectionRunner:
        chosen = all_projections() if projections is None else projections
        return ProjectionRunner(ledger.store, make_views(), chosen, batch=batch)

    return factory


def load_demo(ledger: Ledger, count: int, start: int = 0) -> list[dict[str, Any]]:
    """Append demo events ``start``..``count`` (seed 7) and return them as submitted."""
    events = list(demo_events(count))[start:]
    for i in range(0, len(events), 1000):
        ledger.append(events[i : i + 1000])
    return events
