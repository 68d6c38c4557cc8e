"""The projection machinery on real stores: tracking, determinism, crash/resume, versions, follow."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import pytest

from ledger.application import Ledger
from ledger.errors import ConflictError, NotFoundError
from ledger.event import ReadEvent
from projections.audit import AuditProjection
from projections.ports import Move
from projections.registry import all_projections
from projections.runner import Docs, Need, Projection
from tests.projections.support import RunnerFactory, load_demo, make_runner, make_views

__all__ = ["make_runner", "make_views"]
DEMO = 2500


class BoomError(RuntimeError):
    pass


class Exploding:
    """Wrap a projection so its fold raises after ``after`` events (a crash mid-rebuild)."""

    def __init__(self, inner: Projection, after: int) -> None:
        self.inner, self.left = inner, after
        self.name, self.version, self.topics, self.tables = (
            inner.name,
            inner.version,
            inner.topics,
            inner.tables,
        )

    def needs(self, fact: ReadEvent) -> Iterable[Need]:
        return self.inner.needs(fact)

    def apply(self, fact: ReadEvent, docs: Docs) -> None:
        self.left -= 1
        if self.left < 0:
            raise BoomError
        self.inner.apply(fact, docs)


class AuditV2(AuditProjection):
    version = 2


def test_rebuilds_and_incremental_runs_are_byte_identical(ledger: Ledger, make_runner: RunnerFactory) -> None:
    events = list(load_demo(ledger, DEMO))
    runner = make_runner(batch=700)
    assert runner.catch_up() == DEMO
    first = runner.digest()
    assert runner.rebuild() == DEMO
    assert runner.digest() == first
    assert make_runner(batch=5000).rebuild() == DEMO
    assert runner.digest() == first
    # Incremental: views reset, then folded in uneven slices with appends racing ahead.
    small = make_runner(batch=37)
    for p in small.projections:
        small.views.reset(p.name, p.version, p.tables)
    for until in (1, 38, 400, 1999, DEMO):
        small.catch_up(until=until)
        assert {s.position for s in small.status()} == {until}
    assert small.digest() == first
    assert len(events) == DEMO


def test_crash_mid_rebuild_resumes_to_identical_views(ledger: Ledger, make_runner: RunnerFactory) -> None:
    load_demo(ledger, DEMO)
    clean = make_runner()
    clean.rebuild()
    expected = clean.digest()
    crashing = [Exploding(p, 1200) if p.name == "rounds" else p for p in all_projections()]
    with pytest.raises(BoomError):
        make_runner(crashing, batch=300).rebuild()
    partial = {s.name: s.position for s in clean.status()}
    assert 0 < partial["rounds"] < DEMO  # committed batches stay committed
    assert partial["rounds"] % 300 == 0  # and nothing of the failed batch was written
    resumed = make_runner(batch=450)
    assert resumed.catch_up() == DEMO - min(partial.values())
    assert resumed.digest() == expected


def test_version_change_triggers_rebuild_and_rows_record_it(
    ledger: Ledger, make_runner: RunnerFactory
) -> None:
    load_demo(ledger, 800)
    make_runner().catch_up()
    before = make_runner([AuditProjection()]).digest()
    bumped = make_runner([AuditV2()])
    (status,) = bumped.status()
    assert status.stale
    assert status.stored_version == 1
    assert bumped.catch_up() == 800
    (status,) = bumped.status()
    assert (status.stored_version, status.position, status.lag) == (2, 800, 0)
    assert bumped.digest() != before  # the same documents, now recorded as built by version 2


def test_commit_refuses_a_stale_tracking_position(ledger: Ledger, make_runner: RunnerFactory) -> None:
    load_demo(ledger, 300)
    runner = make_runner()
    runner.catch_up()
    with pytest.raises(ConflictError, match="moved past"):
        runner.views.commit({}, [Move("audit", 1, 0, 300)])


def test_unknown_projection_is_named(make_runner: RunnerFactory) -> None:
    with pytest.raises(NotFoundError, match="unknown projection nope"):
        make_runner().rebuild(["nope"])


def test_follow_keeps_up_with_appends(ledger: Ledger, make_runner: RunnerFactory) -> None:
    events = list(load_demo(ledger, 1200))
    runner = make_runner()
    stop = threading.Event()
    wait = getattr(runner.views, "wait_for_events", None)  # PostgreSQL: LISTEN, else polling
    thread = threading.Thread(target=runner.follow, args=(stop, 0.01, wait))
    thread.start()
    try:
        for i in range(0, 1200, 100):  # re-append is idempotent: nothing new
            ledger.append(events[i : i + 100])
        more = load_demo(ledger, 1500, start=1200)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(s.lag for s in runner.status()):
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join()
    assert {s.position for s in runner.status()} == {1200 + len(more)}
