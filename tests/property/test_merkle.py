"""Properties of the Merkle log: agreement with pymerkle and the RFC, and tamper detection."""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from infra.backend import Backend
from infra.postgres import PostgresBackend
from infra.sqlite import SqliteBackend
from ledger.errors import ConflictError
from ledger.merkle import (
    EMPTY_ROOT,
    ProofError,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from ledger.merkle_log import MerkleLog, NodeKey, TreeStore, completed_nodes

N = 2_500
EXHAUSTIVE = 64
SETTINGS = settings(max_examples=200, deadline=None)
STORE_SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DATA = [f"event-{i}".encode() for i in range(N)]
LEAVES = [leaf_hash(d) for d in DATA]


class MemoryTreeStore:
    """A TreeStore in a dict: the fake for pure tests (nodes and checkpoints only)."""

    def __init__(self) -> None:
        self.tree: dict[NodeKey, bytes] = {}
        self.size = 0
        self.notes: dict[int, bytes] = {}
        self.reads: list[int] = []

    def tree_size(self) -> int:
        return self.size

    def extend(self, start: int, leaf_hashes: Sequence[bytes]) -> None:
        if start != self.size:
            raise ConflictError(f"size is {self.size}, not {start}", field="start")
        self.tree.update(completed_nodes(start, leaf_hashes, self.nodes))
        self.size += len(leaf_hashes)

    def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        self.reads.append(len(keys))
        return {k: self.tree[k] for k in keys if k in self.tree}

    def add_checkpoint(self, size: int, note: bytes) -> None:
        if self.notes.setdefault(size, note) != note:
            raise ConflictError("different note", field="size")

    def checkpoint(self, size: int) -> bytes | None:
        return self.notes.get(size)

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        return max(self.notes.items(), default=None)

    def checkpoints(self, start_size: int = 0) -> list[tuple[int, bytes]]:
        return sorted((s, n) for s, n in self.notes.items() if s >= start_size)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def reference() -> InmemoryTree:
    tree = InmemoryTree(algorithm="sha256")
    for d in DATA:
        tree.append_entry(d)
    return tree


@pytest.fixture(scope="module")
def log() -> MerkleLog:
    store = MemoryTreeStore()
    merkle = MerkleLog(store)
    for i in range(0, N, 97):
        merkle.append_leaves(LEAVES[i : i + 97])
    return merkle


def test_hashes_follow_rfc_9162() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert root_of([]) == EMPTY_ROOT
    assert root_of(LEAVES[:1]) == LEAVES[0]
    assert root_of(LEAVES[:3]) == node_hash(node_hash(LEAVES[0], LEAVES[1]), LEAVES[2])


def test_leaves_agree_with_pymerkle(reference: InmemoryTree) -> None:
    assert [reference.get_leaf(i + 1) for i in range(N)] == LEAVES


def check_inclusion(log: MerkleLog, reference: InmemoryTree, index: int, size: int) -> None:
    root = log.root(size)
    assert root == reference.get_root(size) == root_of(LEAVES[:size])
    proof = log.inclusion(index, size)
    assert proof.path == list(reference.prove_inclusion(index + 1, size).path[1:])
    proof.verify(LEAVES[index], root)


def test_roots_and_audit_paths_agree_with_pymerkle_for_every_small_tree(
    log: MerkleLog, reference: InmemoryTree
) -> None:
    for size in range(1, EXHAUSTIVE + 1):
        for index in range(size):
            check_inclusion(log, reference, index, size)


@SETTINGS
@given(st.integers(EXHAUSTIVE + 1, N).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_roots_and_audit_paths_agree_with_pymerkle_sampled(
    log: MerkleLog, reference: InmemoryTree, case: tuple[int, int]
) -> None:
    check_inclusion(log, reference, *case)


def test_every_root_and_proof_is_one_batched_read_of_log_n_nodes() -> None:
    store = MemoryTreeStore()
    merkle = MerkleLog(store)
    merkle.append_leaves(LEAVES)
    store.reads.clear()
    for size in (1, 2, 3, 1000, 1023, 1024, 1025, N):
        merkle.root(size)
        merkle.inclusion(size // 3, size)
        merkle.consistency(size // 2, size)
    bound = 2 * N.bit_length() + 2
    assert len(store.reads) == 8 * 3
    assert max(store.reads) <= bound


def test_consistency_for_every_pair_of_small_trees(log: MerkleLog) -> None:
    for new in range(EXHAUSTIVE + 1):
        for old in range(new + 1):
            log.consistency(old, new).verify(log.root(old), log.root(new))


@SETTINGS
@given(st.integers(1, N).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_consistency_sampled(log: MerkleLog, case: tuple[int, int]) -> None:
    old, new = case
    proof = log.consistency(old, new)
    assert (proof.first, proof.second) == case
    proof.verify(root_of(LEAVES[:old]), root_of(LEAVES[:new]))


# --- tampering ---------------------------------------------------------------------------

sizes = st.integers(1, 300)
Tamper = Callable[[st.DrawFn, list[bytes]], list[bytes]]


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1 << (at % 8)]) + data[at + 1 :]


@st.composite
def altered_path(draw: st.DrawFn, path: list[bytes]) -> list[bytes]:
    """The path with one byte flipped, a node dropped, or a node inserted."""
    choices = ["insert"] + (["flip", "drop"] if path else [])
    kind = draw(st.sampled_from(choices))
    if kind == "insert":
        at = draw(st.integers(0, len(path)))
        return [*path[:at], draw(st.binary(min_size=32, max_size=32)), *path[at:]]
    at = draw(st.integers(0, len(path) - 1))
    if kind == "drop":
        return path[:at] + path[at + 1 :]
    return [*path[:at], flip(path[at], draw(st.integers(0, 31))), *path[at + 1 :]]


@SETTINGS
@given(st.data(), sizes)
def test_altered_inclusion_proofs_fail(log: MerkleLog, data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(0, size - 1))
    path, root, leaf = log.inclusion(index, size).path, log.root(size), LEAVES[index]
    kind = data.draw(st.sampled_from(["path", "index", "size", "root", "leaf"]))
    if kind == "path":
        path = data.draw(altered_path(path))
    elif kind == "index":
        index = data.draw(st.integers(-2, size + 2).filter(lambda i: i != index))
    elif kind == "size":
        # A changed size comes with that size's root, as a signed tree head would.
        size = data.draw(st.integers(0, 302).filter(lambda s: s != size))
        root = root_of(LEAVES[:size])
    elif kind == "root":
        root = flip(root, data.draw(st.integers(0, 31)))
    else:
        leaf = flip(leaf, data.draw(st.integers(0, 31)))
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, path, root)


@SETTINGS
@given(st.data(), sizes)
def test_altered_consistency_proofs_fail(log: MerkleLog, data: st.DataObject, new: int) -> None:
    old = data.draw(st.integers(0, new))
    path = log.consistency(old, new).path
    old_root, new_root = log.root(old), log.root(new)
    kinds = ["path", "old", "old_root"] + (["new", "new_root"] if old else [])
    kind = data.draw(st.sampled_from(kinds))
    if kind == "path":
        path = data.draw(altered_path(path))
    elif kind == "old":
        old = data.draw(st.integers(-1, new + 1).filter(lambda m: m not in {old, 0, new}))
        old_root = root_of(LEAVES[: max(old, 0)])
    elif kind == "new":
        new = data.draw(st.integers(max(old - 1, 0), 302).filter(lambda n: n != new))
        new_root = root_of(LEAVES[:new])
    elif kind == "old_root":
        old_root = flip(old_root, data.draw(st.integers(0, 31)))
    else:
        new_root = flip(new_root, data.draw(st.integers(0, 31)))
    with pytest.raises(ProofError):
        verify_consistency(old, new, path, old_root, new_root)


def test_proof_errors_name_what_is_wrong(log: MerkleLog) -> None:
    proof = log.inclusion(5, 10)
    with pytest.raises(ProofError, match=r"expected root [0-9a-f]{64}, the proof gives") as e:
        proof.verify(LEAVES[5], log.root(11))
    assert e.value.field == "root"
    with pytest.raises(ProofError, match="outside a tree of size 10"):
        verify_inclusion(LEAVES[5], 10, 10, proof.path, log.root(10))
    with pytest.raises(ProofError, match="too short: leaf 5 of 10 needs 4 nodes, got 3"):
        verify_inclusion(LEAVES[5], 5, 10, proof.path[:3], log.root(10))
    with pytest.raises(ProofError, match="32-byte hash"):
        proof.verify(DATA[5], log.root(10))
    with pytest.raises(ProofError, match="not hex"):
        _ = type(proof)(leaf_index=5, tree_size=10, audit_path=["zz"]).path
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(3, 3, proof.path[:1], log.root(3), log.root(3))


# --- the real stores ---------------------------------------------------------------------


@contextmanager
def open_tree(backend: Backend) -> Iterator[TreeStore]:
    """A fresh store of ``backend``'s kind per hypothesis example (fixtures are per test)."""
    if isinstance(backend, SqliteBackend):
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = replace(backend, path=str(Path(tmp) / "ledger.sqlite3")).tree()
            yield sqlite
            sqlite.close()
        return
    assert isinstance(backend, PostgresBackend)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    pg = replace(backend, schema=schema).tree()
    try:
        yield pg
    finally:
        pg.close()
        with psycopg.connect(backend.dsn, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@STORE_SETTINGS
@given(chunks=st.lists(st.integers(1, 70), min_size=1, max_size=8))
def test_real_stores_give_reference_roots_at_every_size(backend: Backend, chunks: list[int]) -> None:
    with open_tree(backend) as store:
        merkle, end = MerkleLog(store), 0
        for c in chunks:
            assert merkle.append_leaves(LEAVES[end : end + c]) == end + c
            end += c
        assert merkle.size() == end
        for size in range(end + 1):
            assert merkle.root(size) == root_of(LEAVES[:size])
        last = end - 1
        merkle.inclusion(last, end).verify(LEAVES[last], merkle.root())
        merkle.consistency(chunks[0], end).verify(merkle.root(chunks[0]), merkle.root())
