"""The bulk paths of ``ledger verify`` report what the record path reports, on the real databases.

``ledger verify`` reads spans with ``EventStore.read_columns``, compares the persisted tree
a level-run at a time and checks ranges of a large ledger in worker processes; the tamper
suites read ``StoredRecord`` objects in one pass. The same tampering must fail every way
with the same located fault.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from unittest.mock import patch
from uuid import UUID

from infra.backend import Backend
from infra.wiring.processes import ProcessRanges
from ledger.chain import StoredColumns, StoredRecord
from ledger.merkle_log import MerkleLog
from ledger.verify import iter_columns, iter_store, verify_ledger, verify_log
from ledger.verify import ranges as verify_ranges
from ledger.verify.ranges import Progress, RangeResult, RangeTask
from tests.factories import Events, realistic
from tests.integration.test_sealing import ORIGIN, VERIFIER, Rig, rig, sealed
from tests.integration.test_tamper import EVENTS, Populated, flip_trace_id_digit, populated
from tests.property.test_verify_spans import outcome

__all__ = ["populated", "rig", "sealed"]  # fixtures, imported for pytest


def chains_both_ways(p: Populated) -> dict[str, object]:
    store = p.store
    by_columns = outcome(lambda: verify_log(iter_columns(store.read_columns, chunk=64), store.heads()))
    assert by_columns == outcome(lambda: verify_log(iter_store(store.read, chunk=64), store.heads()))
    return by_columns


def test_changed_deleted_inserted_and_swapped_events_fail_alike(populated: Populated) -> None:
    db = populated.db
    assert chains_both_ways(populated) == {"ok": True}
    db.set_state(150, flip_trace_id_digit(db.state(150)))
    assert chains_both_ways(populated)["position"] == populated.successor(150).position
    db.run("DELETE FROM {events} WHERE {nid} = ?", (123 + 1,))
    assert chains_both_ways(populated)["position"] == 123
    a, b = db.state(20), db.state(60)
    db.set_state(20, b)
    db.set_state(60, a)
    assert chains_both_ways(populated)["position"] == 20


def test_column_and_head_tampering_fail_alike(populated: Populated) -> None:
    db = populated.db
    target = populated.receipts[EVENTS - 1]
    db.run("UPDATE {heads} SET hash = ? WHERE stream = ?", (bytes(32), target.stream))
    assert chains_both_ways(populated)["position"] == target.position
    other = db.uuid(UUID(int=7))
    db.run("UPDATE {events} SET event_id = ? WHERE {nid} = ?", (other, 201))
    found = chains_both_ways(populated)
    assert (found["position"], found["found"]) == (200, str(populated.receipts[200].event_id))
    assert found["expected"] == str(UUID(int=7))


def ledger_both_ways(rig: Rig) -> dict[str, object]:
    store = rig.ledger.store

    def run(records: Iterable[StoredRecord | StoredColumns]) -> Callable[[], object]:
        return lambda: rig.verify(records)

    by_columns = outcome(run(iter_columns(store.read_columns, chunk=50)))
    assert by_columns == outcome(run(iter_store(store.read)))
    return by_columns


def tree_table(rig: Rig) -> str:
    events = rig.raw.names["events"]
    return "ledger_tree" if rig.raw.sqlite else events.replace("ledger_events", "ledger_tree")


def test_sealed_tampering_fails_alike_and_first_in_position_order(sealed: Rig) -> None:
    assert ledger_both_ways(sealed) == {"ok": True}
    sealed.raw.run(f"UPDATE {tree_table(sealed)} SET hash = ? WHERE level = 3 AND idx = 9", (bytes(32),))
    assert "over positions 72..79" in str(ledger_both_ways(sealed)["message"])
    data = bytearray(sealed.raw.state(100))
    data[data.index(b'"trace_id":"') + 12] ^= 0x01
    sealed.raw.set_state(100, bytes(data))
    assert "over positions 72..79" in str(ledger_both_ways(sealed)["message"])  # still the first
    data = bytearray(sealed.raw.state(30))
    data[data.index(b'"trace_id":"') + 12] ^= 0x01
    sealed.raw.set_state(30, bytes(data))
    assert ledger_both_ways(sealed)["position"] == 30


def test_a_missing_tree_node_and_a_cut_tail_fail_alike(sealed: Rig) -> None:
    sealed.raw.run(f"DELETE FROM {tree_table(sealed)} WHERE level = 0 AND idx = 5")
    found = ledger_both_ways(sealed)
    assert (found["position"], found["expected"]) == (5, "missing")
    sealed.raw.run(f"DELETE FROM {tree_table(sealed)} WHERE level = 0 AND idx = 5")
    sealed.raw.run("DELETE FROM {events} WHERE {nid} > ?", (100,))
    assert ledger_both_ways(sealed)["position"] == 5


def test_events_appended_between_the_heads_snapshot_and_the_read_pass_on_a_live_ledger(sealed: Rig) -> None:
    store = sealed.ledger.store
    size = store.size()
    heads = list(store.heads())  # the snapshot: the span read next crosses its end
    sealed.ledger.append(realistic(Events(9), 30, streams=15))

    spans = list(iter_columns(store.read_columns))
    report = verify_ledger(
        spans,
        heads,
        sealed.tree_store.checkpoints(),
        [VERIFIER],
        tree=MerkleLog(sealed.tree_store),
        worm=sealed.worm,
        origin=ORIGIN,
        reread_heads=store.heads,
    )

    assert [len(s) for s in spans] == [size + 30]
    assert isinstance(spans[0], StoredColumns)
    assert report.events == size + 30


class SpiedRanges(ProcessRanges):
    """Worker processes, as ``ledger verify`` runs them, with their results kept."""

    results: list[RangeResult | None]

    def run(self, tasks: Sequence[RangeTask], progress: Progress | None) -> list[RangeResult | None]:
        self.results = super().run(tasks, progress)
        return self.results


def in_processes(rig: Rig, backend: Backend) -> tuple[dict[str, object], SpiedRanges]:
    store, tree = rig.ledger.store, MerkleLog(rig.tree_store)
    ranges = SpiedRanges(backend, store, tree, 3)
    counted: list[int] = []
    with patch.object(verify_ranges, "MIN_RANGE", 40):
        found = outcome(
            lambda: verify_ledger(
                iter_columns(store.read_columns),
                store.heads(),
                rig.tree_store.checkpoints(),
                [VERIFIER],
                tree=tree,
                worm=rig.worm,
                origin=ORIGIN,
                progress=counted.append,
                reread_heads=store.heads,
                ranges=ranges,
            )
        )
    if found == {"ok": True}:
        assert sum(counted) == store.size()
    return found, ranges


def test_ranges_checked_in_worker_processes_stitch_on_a_clean_ledger(sealed: Rig, backend: Backend) -> None:
    found, ranges = in_processes(sealed, backend)

    assert found == {"ok": True} == ledger_both_ways(sealed)
    assert len(ranges.results) == 2  # split at checkpoint 120, the one nearest to a third
    assert all(r is not None for r in ranges.results)


def test_a_fault_found_in_a_worker_process_is_named_by_the_sequential_pass(
    sealed: Rig, backend: Backend
) -> None:
    data = bytearray(sealed.raw.state(130))
    data[data.index(b'"trace_id":"') + 12] ^= 0x01
    sealed.raw.set_state(130, bytes(data))

    found, ranges = in_processes(sealed, backend)

    assert found == ledger_both_ways(sealed)
    assert found["position"] == 130
    assert [r is None for r in ranges.results] == [False, True]
