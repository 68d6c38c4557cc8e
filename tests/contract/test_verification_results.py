"""The verification-results store, on both backends: what one process keeps, another reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.backend import Backend
from infra.verification import ResultStore
from tests.conftest import Opened

Opener = Callable[[], ResultStore]


@pytest.fixture
def open_results(backend: Backend, opened: Opened) -> Opener:
    return opened.track(backend.results)


def test_nothing_before_the_first_run(open_results: Opener) -> None:
    assert open_results().last() is None


def test_the_newest_result_is_read_by_another_connection(open_results: Opener) -> None:
    writer, reader = open_results(), open_results()
    writer.save({"ok": True, "events": 10, "finished_at": "2026-12-02T06:00:00.000Z"})
    failed = {
        "ok": False,
        "failure": {"message": "event 3: expected prev_hash 9f…, got 3a…", "position": 3},
        "finished_at": "2026-12-02T07:00:00.000Z",
    }
    writer.save(failed)
    assert reader.last() == failed


def test_results_survive_reopening(open_results: Opener) -> None:
    first = open_results()
    first.save({"ok": True, "events": 1, "finished_at": "2026-12-02T06:00:00.000Z"})
    first.close()
    again = open_results()
    last = again.last()
    assert last is not None
    assert last["events"] == 1
