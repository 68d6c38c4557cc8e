"""Bulk verification over spans reports exactly what a record-at-a-time pass reports (hypothesis).

The verifiers check thousands of records at a time and, when a span fails, halve it down
to the first failing record. Whatever the tampering (several faults at once included), a
whole log verified as one span must fail with the same located fault as the same log fed
one record per span, and a clean log must pass both ways.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from unittest.mock import patch

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from infra.signing import Ed25519Signer, Ed25519Verifier
from ledger.chain import StoredColumns, StoredRecord, stream_id, stream_id_hex
from ledger.checkpoint import ZERO_HASH, Checkpoint, manifest_of, note_hash, sign_checkpoint
from ledger.errors import ChainError
from ledger.merkle import leaf_hash, root_of
from ledger.merkle_log import MerkleLog
from ledger.verify import iter_columns, verify_ledger, verify_log
from ledger.verify import ranges as verify_ranges
from ledger.verify.chain import _same_ids, _uuid_text
from ledger.verify.ledger import open_all
from ledger.verify.ranges import Progress, RangeResult, RangeTask, check_range
from tests.property.test_chain_properties import SETTINGS, appends, build
from tests.property.test_merkle import MemoryTreeStore

ORIGIN = "test.audit-ledger/log"
SIGNER = Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
VERIFIER = Ed25519Verifier(ORIGIN, SIGNER.public_key, "2000-01-01T00:00:00.000Z", None)

Records = list[StoredRecord]
Notes = list[tuple[int, bytes]]
Tamper = Callable[[Records, st.DataObject], None]


def flip(records: Records, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(records) - 1), label="flipped record")
    r = records[i]
    at = data.draw(st.integers(0, len(r.data) - 1), label="byte")
    flipped = bytearray(r.data)
    flipped[at] ^= data.draw(st.integers(1, 255), label="mask")
    records[i] = dataclasses.replace(r, data=bytes(flipped))


def drop(records: Records, data: st.DataObject) -> None:
    if len(records) > 1:
        del records[data.draw(st.integers(0, len(records) - 1), label="dropped")]


def swap(records: Records, data: st.DataObject) -> None:
    i, j = (data.draw(st.integers(0, len(records) - 1), label=f"swapped {n}") for n in (1, 2))
    records[i], records[j] = records[j], records[i]


def column(records: Records, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(records) - 1), label="record with a changed column")
    r = records[i]
    changed = data.draw(
        st.sampled_from(
            [
                dataclasses.replace(r, stream_position=r.stream_position + 1),
                dataclasses.replace(r, event_id=uuid.UUID(int=r.event_id.int ^ 1)),
                dataclasses.replace(r, stream_id=stream_id("BonusRule:other")),
                dataclasses.replace(r, position=r.position + 1),
            ]
        ),
        label="column",
    )
    records[i] = changed


tampers = st.lists(st.sampled_from([flip, drop, swap, column]), min_size=1, max_size=3)


def one_per_span(records: Sequence[StoredRecord]) -> list[StoredColumns]:
    return [StoredColumns.of_records([r]) for r in records]


def outcome(run: Callable[[], object]) -> dict[str, object]:
    try:
        run()
    except ChainError as e:
        return e.as_dict()
    return {"ok": True}


@SETTINGS
@given(appends, tampers, st.data())
def test_a_log_as_one_span_fails_where_one_record_at_a_time_fails(
    calls: list[list[list[tuple[int, dict[str, Any]]]]], faults: list[Tamper], data: st.DataObject
) -> None:
    log = build(calls)
    for tamper in faults:
        tamper(log.records, data)
    heads = list(log.heads.items())

    whole = outcome(lambda: verify_log(log.records, heads))

    assert whole == outcome(lambda: verify_log(one_per_span(log.records), heads))


def sealed(records: Sequence[StoredRecord], sizes: Sequence[int]) -> tuple[MerkleLog, Notes]:
    """A tree over ``records`` and checkpoints signed at ``sizes``, as the sealer leaves them."""
    leaves = [leaf_hash(r.data) for r in records]
    tree = MerkleLog(MemoryTreeStore())
    tree.append_leaves(leaves)
    notes: Notes = []
    first, previous = 0, ZERO_HASH
    for size in sizes:
        cp = Checkpoint(
            origin=ORIGIN,
            size=size,
            root=root_of(leaves[:size]),
            timestamp="2026-01-01T00:00:00.000Z",
            first=first,
            manifest=manifest_of(leaves[first:size]),
            previous=previous,
        )
        note = sign_checkpoint(cp, [SIGNER])
        notes.append((size, note))
        first, previous = size, note_hash(note)
    return tree, notes


@SETTINGS
@given(appends, tampers, st.data())
def test_the_tree_and_checkpoints_fail_the_same_way_whatever_the_span(
    calls: list[list[list[tuple[int, dict[str, Any]]]]], faults: list[Tamper], data: st.DataObject
) -> None:
    log = build(calls)
    n = len(log.records)
    sizes = sorted(data.draw(st.sets(st.integers(1, n), max_size=3), label="checkpoint sizes"))
    tree, notes = sealed(log.records, sizes)
    store = tree.store
    assert isinstance(store, MemoryTreeStore)
    if data.draw(st.booleans(), label="alter a tree node"):
        key = data.draw(st.sampled_from(sorted(store.tree)), label="altered node")
        store.tree[key] = bytes(32)
    for tamper in data.draw(st.sampled_from([[], faults]), label="tamper the records too"):
        tamper(log.records, data)
    heads = list(log.heads.items())

    def run(records: Sequence[StoredRecord | StoredColumns]) -> Callable[[], object]:
        return lambda: verify_ledger(records, heads, notes, [VERIFIER], tree=tree, origin=ORIGIN)

    assert outcome(run(log.records)) == outcome(run(one_per_span(log.records)))


class InlineRanges:
    """A ``RangeRunner`` checking every range here, one after the other, over a list of records."""

    def __init__(self, log: Sequence[StoredRecord], tree: MerkleLog, processes: int) -> None:
        self.processes = processes
        self._log, self._tree = log, tree
        self.resumed_at: list[int] = []

    def read(self, start: int, limit: int) -> StoredColumns:
        return StoredColumns.of_records([r for r in self._log if r.position >= start][:limit])

    def run(self, tasks: Sequence[RangeTask], progress: Progress | None) -> list[RangeResult | None]:
        return [check_range(task, self.read, self._tree, progress) for task in tasks]

    def records(self, start: int) -> Iterator[StoredColumns]:
        self.resumed_at.append(start)
        return iter_columns(self.read, start=start)


def keep_positions(faults: list[Tamper]) -> list[Tamper]:
    """The tampering a store allows: its positions stay unique and ascending (gaps allowed)."""
    return [t for t in faults if t is not swap]


@SETTINGS
@given(appends, tampers, st.data())
def test_ranges_checked_apart_and_stitched_fail_and_pass_as_one_pass_does(
    calls: list[list[list[tuple[int, dict[str, Any]]]]], faults: list[Tamper], data: st.DataObject
) -> None:
    log = build(calls)
    n = len(log.records)
    sizes = sorted(data.draw(st.sets(st.integers(1, n), max_size=4), label="checkpoint sizes"))
    tree, notes = sealed(log.records, sizes)
    store = tree.store
    assert isinstance(store, MemoryTreeStore)
    if data.draw(st.booleans(), label="alter a tree node"):
        store.tree[data.draw(st.sampled_from(sorted(store.tree)), label="altered node")] = bytes(32)
    for tamper in data.draw(st.sampled_from([[], keep_positions(faults)]), label="tamper the records too"):
        tamper(log.records, data)
    heads = list(log.heads.items())
    ranges = InlineRanges(log.records, tree, data.draw(st.integers(2, 4), label="ranges"))

    def run(runner: InlineRanges | None) -> dict[str, object]:
        def verify() -> object:
            report = verify_ledger(
                log.records, heads, notes, [VERIFIER], tree=tree, origin=ORIGIN, ranges=runner
            )
            return {"events": report.events, "streams": report.streams}

        return outcome(verify)

    with patch.object(verify_ranges, "MIN_RANGE", 2):
        assert run(ranges) == run(None)


def test_clean_ranges_stitch_and_the_pass_resumes_after_them() -> None:
    log = build([[[(i % 4, {"i": i}) for i in range(4)] for _ in range(3)] for _ in range(3)])
    tree, notes = sealed(log.records, [5, 12, 30])
    ranges = InlineRanges(log.records, tree, 3)
    heads = list(log.heads.items())

    with patch.object(verify_ranges, "MIN_RANGE", 4):
        report = verify_ledger(log.records, heads, notes, [VERIFIER], tree=tree, origin=ORIGIN, ranges=ranges)
        tasks = verify_ranges.plan(36, open_all(notes, [VERIFIER]), tree.size(), 3)
        unsealed = verify_ranges.plan(36, [], 0, 3)

    assert (report.events, report.streams) == (36, 4)
    assert ranges.resumed_at == [36]
    # Ranges start at a checkpoint size (12; 30 is the one nearest to 24) or past the last one.
    assert [(t.start, t.end, [cp.size for cp in t.checkpoints]) for t in tasks] == [
        (0, 12, [5, 12]),
        (12, 30, [30]),
        (30, 36, []),
    ]
    assert [(t.start, t.end) for t in unsealed] == [(0, 12), (12, 24), (24, 36)]


def test_a_range_whose_first_record_claims_a_wrong_link_does_not_stitch() -> None:
    log = build([[[(0, {}), (1, {}), (0, {}), (1, {}), (0, {}), (1, {})]]])
    tree, _ = sealed(log.records, [])
    tasks = [RangeTask(0, 3, 0, []), RangeTask(3, 6, 0, [])]
    ranges = InlineRanges(log.records, tree, 2)
    assert verify_ranges.stitch(tasks, ranges.run(tasks, None)) is not None
    later = ranges.run(tasks, None)[1]
    assert later is not None
    (stream, (sp, _)), *_ = later.firsts.items()
    later.firsts[stream] = (sp, "0" * 64)

    assert verify_ranges.stitch(tasks, [ranges.run(tasks, None)[0], later]) is None


@SETTINGS
@given(st.text())
def test_stream_id_hex_is_the_uuid5_stream_id(stream: str) -> None:
    assert stream_id_hex(stream) == stream_id(stream).hex


@SETTINGS
@given(st.lists(st.uuids(), min_size=1, max_size=8), st.data())
def test_ids_compared_in_bulk_agree_with_comparing_each(ids: list[uuid.UUID], data: st.DataObject) -> None:
    columns = [u.hex for u in ids]
    texts = [str(u) for u in ids]
    i = data.draw(st.integers(0, len(ids) - 1), label="changed id")
    text = texts[i]
    texts[i] = data.draw(
        st.sampled_from(
            [
                text,
                text.upper(),
                text.replace("-", ""),
                text[:8] + text[9:13] + "-" + text[13:],
                text[:-1],
                text + "0",
                f"{{{text}}}",
                text[:5] + "-" + text[6:],
            ]
        ),
        label="id text",
    )

    assert _same_ids(columns, texts) == all(_uuid_text(c) == t for c, t in zip(columns, texts, strict=True))


def test_a_span_fails_at_its_first_fault_in_position_order() -> None:
    log = build([[[(0, {"n": 1}), (1, {}), (0, {}), (1, {}), (0, {})]]])
    records = log.records
    records[3] = dataclasses.replace(records[3], stream_position=9)
    records[0] = dataclasses.replace(records[0], data=records[0].data.replace(b'"n":1', b'"n":2'))

    with pytest.raises(ChainError) as err:
        verify_log(records, list(log.heads.items()))

    assert (err.value.position, err.value.stream, err.value.stream_position) == (2, "BonusRule:r1", 1)
    assert "prev_hash does not match the hash of stream position 0 (global 0)" in err.value.message
