"""The bulk read path (``read_columns`` spans, bulk tree-node runs) reports what the record path reports.

``ledger verify`` reads spans with ``EventStore.read_columns`` and compares the persisted
tree a level-run at a time; the tamper suites read ``StoredRecord`` objects. The same
tampering, on the real databases, must fail both ways with the same located fault.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

from ledger.chain import StoredColumns, StoredRecord
from ledger.merkle import MerkleLog
from ledger.verify import ChainError, iter_columns, iter_store, verify_log
from ledger.verify_checkpoints import verify_ledger
from tests.factories import Events, realistic
from tests.integration.test_sealing import ORIGIN, VERIFIER, Rig, rig, sealed
from tests.integration.test_tamper import EVENTS, Populated, flip_trace_id_digit, populated

__all__ = ["populated", "rig", "sealed"]  # fixtures, imported for pytest


def outcome(run: Callable[[], object]) -> dict[str, object]:
    try:
        run()
    except ChainError as e:
        return e.as_dict()
    return {"ok": True}


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
        return lambda: verify_ledger(
            records,
            store.heads(),
            rig.tree_store.checkpoints(),
            [VERIFIER],
            tree=MerkleLog(rig.tree_store),
            worm=rig.worm,
            origin=ORIGIN,
            reread_heads=store.heads,
        )

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
