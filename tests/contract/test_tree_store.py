"""The TreeStore contract and the MerkleLog over it, run against every backend."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pytest

from infra.backend import Backend
from ledger.application import Ledger
from ledger.errors import ConflictError, NotFoundError, ValidationError
from ledger.merkle import EMPTY_ROOT, leaf_hash, node_hash, root_of
from ledger.merkle_log import MerkleLog, NodeKey, RunReader, TreeStore
from tests.conftest import Opened
from tests.factories import Events, realistic

TreeFactory = Callable[[], TreeStore]
LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(200)]


@pytest.fixture
def make_tree(backend: Backend, opened: Opened) -> TreeFactory:
    """Open (and re-open) the tree store of the current backend, beside its event store."""
    return opened.track(backend.tree)


class CountingTree:
    """Delegates to a store, recording the size of every ``nodes`` read."""

    def __init__(self, inner: TreeStore) -> None:
        self.inner = inner
        self.reads: list[int] = []

    def tree_size(self) -> int:
        return self.inner.tree_size()

    def extend(self, start: int, leaf_hashes: Sequence[bytes]) -> None:
        self.inner.extend(start, leaf_hashes)

    def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        self.reads.append(len(keys))
        return self.inner.nodes(keys)

    def add_checkpoint(self, size: int, note: bytes) -> None:
        self.inner.add_checkpoint(size, note)

    def checkpoint(self, size: int) -> bytes | None:
        return self.inner.checkpoint(size)

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        return self.inner.latest_checkpoint()

    def checkpoints(self, start_size: int = 0) -> list[tuple[int, bytes]]:
        return self.inner.checkpoints(start_size)

    def close(self) -> None:
        self.inner.close()


def test_empty_store(make_tree: TreeFactory) -> None:
    store = make_tree()
    log = MerkleLog(store)

    assert store.tree_size() == 0
    assert store.nodes([(0, 0), (1, 0)]) == {}
    assert log.root() == EMPTY_ROOT
    assert log.consistency(0, 0).consistency_path == []
    assert store.latest_checkpoint() is None
    assert store.checkpoints() == []
    with pytest.raises(NotFoundError):
        log.inclusion(0, 1)


def test_extend_writes_leaves_and_completed_nodes_only(make_tree: TreeFactory) -> None:
    store = make_tree()
    store.extend(0, LEAVES[:5])

    h01, h23 = node_hash(LEAVES[0], LEAVES[1]), node_hash(LEAVES[2], LEAVES[3])
    want = {(0, i): LEAVES[i] for i in range(5)} | {(1, 0): h01, (1, 1): h23, (2, 0): node_hash(h01, h23)}
    asked = [*want, (0, 5), (1, 2), (3, 0)]
    assert store.nodes(asked) == want
    assert store.tree_size() == 5


def test_extend_in_chunks_equals_one_extend(make_tree: TreeFactory) -> None:
    store = make_tree()
    for start, end in ((0, 1), (1, 2), (2, 7), (7, 64), (64, 65), (65, 200)):
        store.extend(start, LEAVES[start:end])
        assert store.tree_size() == end
    keys = [(level, i) for level in range(9) for i in range(200 >> level)]
    nodes = store.nodes(keys)
    assert len(nodes) == len(keys)
    assert nodes[(7, 0)] == root_of(LEAVES[:128])
    assert MerkleLog(store).root() == root_of(LEAVES)


def test_extend_elsewhere_than_the_end_conflicts_and_writes_nothing(make_tree: TreeFactory) -> None:
    store = make_tree()
    store.extend(0, LEAVES[:5])

    for start in (0, 4, 6):
        with pytest.raises(ConflictError, match="has 5 leaves") as e:
            store.extend(start, LEAVES[start : start + 3])
        assert e.value.field == "start"
    assert store.tree_size() == 5
    assert store.nodes([(0, 5), (0, 6)]) == {}


def test_leaf_hashes_of_the_wrong_length_are_refused(make_tree: TreeFactory) -> None:
    store = make_tree()
    with pytest.raises(ValidationError, match="32 bytes") as e:
        store.extend(0, [LEAVES[0], b"short"])
    assert e.value.field == "leaf_hashes"
    assert store.tree_size() == 0
    assert store.nodes([(0, 0)]) == {}


def test_a_second_writer_with_a_stale_size_conflicts(make_tree: TreeFactory) -> None:
    first, second = MerkleLog(make_tree()), make_tree()
    first.append_leaves(LEAVES[:3])
    with pytest.raises(ConflictError):
        second.extend(0, LEAVES[:3])
    second.extend(3, LEAVES[3:4])
    assert first.root() == root_of(LEAVES[:4])


def test_concurrent_writers_never_fork_the_tree(make_tree: TreeFactory) -> None:
    logs = [MerkleLog(make_tree()), MerkleLog(make_tree())]
    barrier = threading.Barrier(len(logs))

    def writer(log: MerkleLog) -> None:
        barrier.wait()
        while (size := log.size()) < len(LEAVES):
            try:
                log.store.extend(size, LEAVES[size : size + 7])
            except ConflictError:
                continue

    threads = [threading.Thread(target=writer, args=(log,)) for log in logs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert logs[0].size() == len(LEAVES)
    assert [logs[0].root(n) for n in range(201)] == [root_of(LEAVES[:n]) for n in range(201)]


def test_every_proof_at_every_size_verifies_with_one_small_read(make_tree: TreeFactory) -> None:
    store = CountingTree(make_tree())
    log = MerkleLog(store)
    log.append_leaves(LEAVES[:40])
    roots = [root_of(LEAVES[:n]) for n in range(41)]
    store.reads.clear()
    proofs = 0
    for size in range(1, 41):
        assert log.root(size) == roots[size]
        for index in range(size):
            log.inclusion(index, size).verify(LEAVES[index], roots[size])
        for old in range(size + 1):
            log.consistency(old, size).verify(roots[old], roots[size])
        proofs += 1 + size + size + 1
    assert len(store.reads) == proofs
    assert max(store.reads) <= 2 * (40).bit_length() + 2


def test_node_runs_read_consecutive_nodes_of_a_level_in_one_go(make_tree: TreeFactory) -> None:
    store = make_tree()
    assert isinstance(store, RunReader)
    assert store.node_runs([(0, 0, 4)]) == [b""]
    log = MerkleLog(store)
    log.append_leaves(LEAVES[:13])
    spans = [(0, 0, 13), (1, 2, 6), (3, 0, 1), (0, 10, 20), (2, 2, 9), (4, 0, 1), (1, 0, 1)]
    nodes = store.nodes([(level, i) for level, a, b in spans for i in range(a, b)])
    expected = [b"".join(nodes[(lv, i)] for i in range(a, b) if (lv, i) in nodes) for lv, a, b in spans]

    assert expected[0] == b"".join(LEAVES[:13])
    assert [len(e) // 32 for e in expected] == [13, 4, 1, 3, 1, 0, 1]
    assert store.node_runs(spans) == expected
    assert store.node_runs([]) == []
    assert log.runs(spans) == expected
    counting = CountingTree(store)  # no bulk read: the log falls back to one ``nodes`` lookup
    assert MerkleLog(counting).runs(spans) == expected
    assert counting.reads == [sum(b - a for _, a, b in spans)]


def test_sizes_and_indices_out_of_range(make_tree: TreeFactory) -> None:
    log = MerkleLog(make_tree())
    log.append_leaves(LEAVES[:10])

    with pytest.raises(NotFoundError, match="beyond the log") as e:
        log.root(11)
    assert e.value.field == "size"
    with pytest.raises(NotFoundError):
        log.inclusion(3, 11)
    with pytest.raises(NotFoundError):
        log.consistency(4, 12)
    with pytest.raises(NotFoundError):
        log.consistency(11, 11)
    with pytest.raises(ValidationError) as v:
        log.inclusion(10, 10)
    assert v.value.field == "index"
    with pytest.raises(ValidationError):
        log.consistency(5, 4)
    with pytest.raises(ValidationError):
        log.root(-1)


def test_a_reopened_store_answers_at_once_without_rebuilding(make_tree: TreeFactory) -> None:
    log = MerkleLog(make_tree())
    for i in range(0, 200, 33):
        log.append_leaves(LEAVES[i : i + 33])
    before = (log.root(), log.root(77), log.inclusion(42, 150), log.consistency(77, 200))
    log.store.close()

    again = CountingTree(make_tree())
    reopened = MerkleLog(again)
    after = (reopened.root(), reopened.root(77), reopened.inclusion(42, 150), reopened.consistency(77, 200))

    assert after == before
    assert len(again.reads) == 4
    assert max(again.reads) <= 2 * (200).bit_length() + 2
    after[2].verify(LEAVES[42], root_of(LEAVES[:150]))


def test_checkpoints_are_idempotent_and_ordered(make_tree: TreeFactory) -> None:
    store = make_tree()
    store.add_checkpoint(10, b"note 10")
    store.add_checkpoint(3, b"note 3")
    store.add_checkpoint(10, b"note 10")
    store.add_checkpoint(0, b"note 0")

    with pytest.raises(ConflictError, match="tree size 10") as e:
        store.add_checkpoint(10, b"another note 10")
    assert e.value.field == "size"
    assert store.checkpoint(10) == b"note 10"
    assert store.checkpoint(4) is None
    assert store.latest_checkpoint() == (10, b"note 10")
    assert store.checkpoints() == [(0, b"note 0"), (3, b"note 3"), (10, b"note 10")]
    assert store.checkpoints(3) == [(3, b"note 3"), (10, b"note 10")]
    store.close()
    assert make_tree().checkpoints(4) == [(10, b"note 10")]


def test_catch_up_follows_the_event_store(ledger: Ledger, make_tree: TreeFactory) -> None:
    events = Events()
    ledger.append(realistic(events, 57))
    log = MerkleLog(make_tree())

    assert log.catch_up(ledger.store, batch=10) == 57
    assert log.catch_up(ledger.store) == 0
    records = ledger.store.read(0, 1000)
    leaves = [leaf_hash(r.data) for r in records]
    assert log.root() == root_of(leaves)

    ledger.append(realistic(events, 13))
    assert log.catch_up(ledger.store, limit=5) == 5
    assert log.size() == 62
    assert log.catch_up(ledger.store, batch=4) == 8
    leaves = [leaf_hash(r.data) for r in ledger.store.read(0, 1000)]
    assert [log.root(n) for n in range(71)] == [root_of(leaves[:n]) for n in range(71)]
    record = ledger.store.read(33, 1)[0]
    log.inclusion(33, 70).verify(leaf_hash(record.data), log.root())
