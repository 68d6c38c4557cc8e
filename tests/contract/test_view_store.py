"""The ``ViewStore`` port, on both backends: documents and tracking move together or not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.backend import Backend
from ledger.encoding import canonical
from ledger.errors import ConflictError, StorageError
from projections.ports import Move, TableWrites, Tracking, ViewStore
from tests.conftest import Opened

ViewFactory = Callable[[], ViewStore]


@pytest.fixture
def make_views(backend: Backend, opened: Opened) -> ViewFactory:
    return opened.track(backend.views)


def doc(key: str, **fields: Any) -> dict[str, Any]:
    return {"key": key, **fields}


def rows(*docs: dict[str, Any]) -> dict[str, bytes | None]:
    return {d["key"]: canonical(d) for d in docs}


def started(make_views: ViewFactory, *tables: str, name: str = "p", version: int = 1) -> ViewStore:
    """A store with ``tables`` ensured and projection ``name`` at position 0."""
    views = make_views()
    views.ensure(tables)
    views.reset(name, version, tables)
    return views


def test_a_fresh_store_is_empty(make_views: ViewFactory) -> None:
    views = make_views()
    views.ensure(["cases"])
    assert views.tracking() == {}
    assert views.get("cases", "c-1") is None
    assert views.load("cases", ["c-1", "c-2"]) == {}
    assert views.load("cases", []) == {}
    assert views.scan("cases", "") == []
    assert views.scan_raw("cases", "c-") == []


def test_reset_starts_a_projection_at_zero(make_views: ViewFactory) -> None:
    views = started(make_views, "cases", name="case", version=3)
    assert views.tracking() == {"case": Tracking(version=3, position=0)}


def test_commit_writes_documents_and_moves_tracking(make_views: ViewFactory) -> None:
    views = started(make_views, "cases", "rounds")
    views.commit(
        {
            "cases": TableWrites(1, rows(doc("c-1", n=1), doc("c-2", n=2))),
            "rounds": TableWrites(1, rows(doc("r-1", won="1.50"))),
        },
        [Move("p", 1, 0, 7)],
    )
    assert views.tracking() == {"p": Tracking(1, 7)}
    assert views.get("cases", "c-1") == doc("c-1", n=1)
    assert views.get("rounds", "r-1") == doc("r-1", won="1.50")
    assert views.load("cases", ["c-2", "c-9"]) == {"c-2": doc("c-2", n=2)}


def test_a_later_commit_replaces_and_deletes(make_views: ViewFactory) -> None:
    views = started(make_views, "cases")
    views.commit({"cases": TableWrites(1, rows(doc("c-1", n=1), doc("c-2", n=2)))}, [Move("p", 1, 0, 2)])
    views.commit({"cases": TableWrites(1, {**rows(doc("c-1", n=10)), "c-2": None})}, [Move("p", 1, 2, 4)])
    assert views.load("cases", ["c-1", "c-2"]) == {"c-1": doc("c-1", n=10)}
    assert views.tracking() == {"p": Tracking(1, 4)}


def test_commit_without_moves_writes_rows_only(make_views: ViewFactory) -> None:
    views = started(make_views, "cases")
    views.commit({"cases": TableWrites(1, rows(doc("c-1")))}, [])
    assert views.get("cases", "c-1") == doc("c-1")
    assert views.tracking() == {"p": Tracking(1, 0)}


def test_scan_is_by_prefix_in_key_order_with_a_limit(make_views: ViewFactory) -> None:
    views = started(make_views, "audit")
    keys = ["e-2/0002", "e-1/0010", "e-1/0002", "e-10/0001", "e-1", "f", "e-1/é", "e-1/z"]
    views.commit({"audit": TableWrites(1, rows(*(doc(k) for k in keys)))}, [])
    under = sorted(k for k in keys if k.startswith("e-1/"))
    assert [d["key"] for d in views.scan("audit", "e-1/")] == under
    assert [d["key"] for d in views.scan("audit", "e-1/", limit=2)] == under[:2]
    assert [d["key"] for d in views.scan("audit", "")] == sorted(keys)
    assert views.scan("audit", "g") == []


def test_scan_raw_returns_the_stored_bytes(make_views: ViewFactory) -> None:
    views = started(make_views, "audit")
    written = rows(doc("a", amount="10.00", note="ünïcode"), doc("b", n=[1, 2]))
    views.commit({"audit": TableWrites(1, written)}, [])
    assert views.scan_raw("audit", "") == [written["a"], written["b"]]
    assert views.scan_raw("audit", "b", limit=1) == [written["b"]]


def test_ensure_again_keeps_rows_and_tracking(make_views: ViewFactory) -> None:
    views = started(make_views, "cases")
    views.commit({"cases": TableWrites(1, rows(doc("c-1")))}, [Move("p", 1, 0, 3)])
    views.ensure(["cases"])
    views.ensure(["cases", "rounds"])
    assert views.get("cases", "c-1") == doc("c-1")
    assert views.scan("rounds", "") == []
    assert views.tracking() == {"p": Tracking(1, 3)}


def test_rows_and_tracking_survive_reopening(make_views: ViewFactory) -> None:
    first = started(make_views, "cases")
    first.commit({"cases": TableWrites(1, rows(doc("c-1", n=1)))}, [Move("p", 1, 0, 5)])
    digest = first.digest("cases")
    first.close()
    again = make_views()
    again.ensure(["cases"])
    assert again.tracking() == {"p": Tracking(1, 5)}
    assert again.get("cases", "c-1") == doc("c-1", n=1)
    assert again.digest("cases") == digest


def test_another_connection_sees_a_commit(make_views: ViewFactory) -> None:
    writer = started(make_views, "cases")
    reader = make_views()
    writer.commit({"cases": TableWrites(1, rows(doc("c-1")))}, [Move("p", 1, 0, 1)])
    assert reader.get("cases", "c-1") == doc("c-1")
    assert reader.tracking() == {"p": Tracking(1, 1)}


def test_reset_empties_its_tables_and_rewinds(make_views: ViewFactory) -> None:
    views = started(make_views, "cases", "rounds")
    views.reset("q", 1, [])
    views.commit(
        {"cases": TableWrites(1, rows(doc("c-1"))), "rounds": TableWrites(1, rows(doc("r-1")))},
        [Move("p", 1, 0, 9), Move("q", 1, 0, 4)],
    )
    views.reset("p", 2, ["cases"])
    assert views.scan("cases", "") == []
    assert views.get("rounds", "r-1") == doc("r-1")
    assert views.tracking() == {"p": Tracking(2, 0), "q": Tracking(1, 4)}


def test_digest_depends_on_content_not_on_write_order(make_views: ViewFactory) -> None:
    one, two = started(make_views, "a", "b"), make_views()
    assert one.digest("a") == one.digest("b")
    one.commit({"a": TableWrites(1, rows(doc("x"), doc("y")))}, [])
    one.commit({"b": TableWrites(1, rows(doc("y")))}, [])
    one.commit({"b": TableWrites(1, rows(doc("x")))}, [])
    assert two.digest("a") == one.digest("b")
    before = one.digest("a")
    one.commit({"a": TableWrites(2, rows(doc("x")))}, [])
    assert one.digest("a") != before


def test_a_stale_move_conflicts_and_writes_nothing(make_views: ViewFactory) -> None:
    views = started(make_views, "cases")
    views.reset("q", 1, [])
    other = make_views()
    other.commit({}, [Move("q", 1, 0, 5)])
    with pytest.raises(ConflictError, match="moved past 0"):
        views.commit({"cases": TableWrites(1, rows(doc("c-1")))}, [Move("p", 1, 0, 3), Move("q", 1, 0, 3)])
    assert views.get("cases", "c-1") is None
    assert views.tracking() == {"p": Tracking(1, 0), "q": Tracking(1, 5)}


@pytest.mark.parametrize(
    "move",
    [Move("p", 2, 0, 3), Move("unknown", 1, 0, 3)],
    ids=["another-version", "never-reset"],
)
def test_a_move_of_another_version_or_projection_conflicts(make_views: ViewFactory, move: Move) -> None:
    views = started(make_views, "cases")
    with pytest.raises(ConflictError):
        views.commit({"cases": TableWrites(1, rows(doc("c-1")))}, [move])
    assert views.get("cases", "c-1") is None
    assert views.tracking() == {"p": Tracking(1, 0)}


def test_a_failed_commit_leaves_neither_rows_nor_tracking(make_views: ViewFactory) -> None:
    views = started(make_views, "cases")
    views.commit({"cases": TableWrites(1, rows(doc("c-0")))}, [Move("p", 1, 0, 1)])
    with pytest.raises(StorageError):
        views.commit(
            {"cases": TableWrites(1, rows(doc("c-1"))), "never_ensured": TableWrites(1, rows(doc("x")))},
            [Move("p", 1, 1, 2)],
        )
    assert views.load("cases", ["c-0", "c-1"]) == {"c-0": doc("c-0")}
    assert views.tracking() == {"p": Tracking(1, 1)}
    views.commit({"cases": TableWrites(1, rows(doc("c-1")))}, [Move("p", 1, 1, 2)])
    assert views.tracking() == {"p": Tracking(1, 2)}
