"""Helpers for projection tests: view stores on the current backend, demo history, raw events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from infra.backend import Backend
from infra.demo import demo_events
from ledger.application import Ledger
from projections.ports import ViewStore
from projections.registry import all_projections
from projections.runner import Projection, ProjectionRunner
from tests.conftest import Opened

ViewFactory = Callable[[], ViewStore]
RunnerFactory = Callable[..., ProjectionRunner]


@pytest.fixture
def make_views(backend: Backend, opened: Opened) -> ViewFactory:
    """Open view stores in the current backend's event database; all closed after the test."""
    return opened.track(backend.views)


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
