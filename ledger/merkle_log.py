"""The global Merkle log (RFC 9162 §2.1) over every event, in global-position order: the prover.

Storage keeps every *perfect* subtree hash under the key ``(level, index)``: the subtree
covering leaves ``[index·2^level, (index+1)·2^level)``; level 0 holds the leaf hashes. A
node is written once, when its last leaf arrives, and never changes. Any range the RFC's
recursion names (a root at some size, an audit-path or consistency-path entry) starts at a
multiple of a power of two at least its length, so it splits into the perfect subtrees of
the binary digits of its length; its hash is their right fold. A root or proof therefore
costs O(log n) node reads, all fetched in one batched ``TreeStore.nodes`` call.

The hashes, the verifiers and the proof wire types are :mod:`ledger.merkle`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from ledger.errors import ConflictError, NotFoundError, StorageError, ValidationError, VerificationError
from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    NODE_PREFIX,
    ConsistencyProof,
    InclusionProof,
    leaf_hash,
    node_hash,
    split,
)
from ledger.ports import EventStore

NodeKey = tuple[int, int]
"""``(level, index)``: the perfect subtree over leaves ``[index·2^level, (index+1)·2^level)``."""
NodeGetter = Callable[[Sequence[NodeKey]], Mapping[NodeKey, bytes]]
NodeRun = tuple[int, int, list[bytes]]
"""``(level, first index, hashes)``: consecutive nodes of one level."""
NodeSpan = tuple[int, int, int]
"""``(level, start, end)``: the nodes ``start..end-1`` of one level."""

# --- which nodes a root or proof needs -----------------------------------------------------

Range = tuple[int, int]


def _inclusion_ranges(index: int, size: int) -> list[Range]:
    """Return the leaf ranges whose MTHs form PATH(index, D[size]), bottom-up (RFC §2.1.3.1)."""
    out: list[Range] = []
    a, b = 0, size
    while b - a > 1:
        k = split(b - a)
        if index < a + k:
            out.append((a + k, b))
            b = a + k
        else:
            out.append((a, a + k))
            a += k
    out.reverse()
    return out


def _consistency_ranges(old: int, new: int) -> list[Range]:
    """Return the leaf ranges whose MTHs form PROOF(old, D[new]), in order (RFC §2.1.4.1)."""
    out: list[Range] = []
    a, b, whole = 0, new, True
    while old != b:
        k = split(b - a)
        if old - a <= k:
            out.append((a + k, b))
            b = a + k
        else:
            out.append((a, a + k))
            a += k
            whole = False
    if not whole:
        out.append((a, b))
    out.reverse()
    return out


def subtree_keys(start: int, end: int) -> list[NodeKey]:
    """Return the perfect subtrees, left to right, whose right fold is MTH(D[start:end]).

    ``start`` must be a multiple of a power of two ≥ ``end - start``, as every range in the
    RFC's recursion is; the pieces are then the binary digits of the length, largest first.
    """
    keys: list[NodeKey] = []
    pos, length = start, end - start
    for level in range(length.bit_length() - 1, -1, -1):
        if length >> level & 1:
            keys.append((level, pos >> level))
            pos += 1 << level
    return keys


def _fold(keys: Sequence[NodeKey], nodes: Mapping[NodeKey, bytes]) -> bytes:
    h = nodes[keys[-1]]
    for key in reversed(keys[:-1]):
        h = node_hash(nodes[key], h)
    return h


def completed_runs(size: int, new_leaf_hashes: Sequence[bytes], get: NodeGetter) -> list[NodeRun]:
    """Return the nodes (leaves included) that appending ``new_leaf_hashes`` at ``size`` completes.

    One ``(level, first index, hashes)`` run of consecutive new nodes per level, from the
    leaves up. Reads only the right edge of the tree of ``size`` leaves (the left siblings
    the new nodes pair with), in one ``get`` call: at level ``l`` the new run starts at
    ``size >> l``, and when that is odd its left sibling is on the edge.

    Raises:
        ValidationError: a leaf hash is not 32 bytes.
        StorageError: ``get`` lacks a right-edge node the tree of ``size`` must hold.
    """
    if not new_leaf_hashes:
        return []
    if set(map(len, new_leaf_hashes)) != {HASH_SIZE}:
        msg = f"every leaf hash must be {HASH_SIZE} bytes"
        raise ValidationError(msg, field="leaf_hashes")
    edge_keys = [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]
    edge = get(edge_keys) if edge_keys else {}
    runs: list[NodeRun] = []
    level, lo, run = 0, size, list(new_leaf_hashes)
    sha, node = hashlib.sha256, NODE_PREFIX
    while run:
        runs.append((level, lo, run))
        pairs = run
        if lo & 1:
            left = edge.get((level, lo - 1))
            if left is None:
                msg = f"the tree store lacks node {(level, lo - 1)} of a tree of {size} leaves"
                raise StorageError(msg)
            pairs, lo = [left, *run], lo - 1
        run = [sha(node + a + b).digest() for a, b in zip(pairs[0::2], pairs[1::2], strict=False)]
        level, lo = level + 1, lo >> 1
    return runs


def completed_nodes(size: int, new_leaf_hashes: Sequence[bytes], get: NodeGetter) -> dict[NodeKey, bytes]:
    """Return ``completed_runs`` as a mapping from node key to hash.

    Raises:
        ValidationError: a leaf hash is not 32 bytes.
        StorageError: ``get`` lacks a right-edge node the tree of ``size`` must hold.
    """
    runs = completed_runs(size, new_leaf_hashes, get)
    return {(level, lo + i): h for level, lo, run in runs for i, h in enumerate(run)}


# --- storage port and the log ---------------------------------------------------------------


def check_extend_start(size: int, start: int) -> None:
    """Refuse to extend a tree of ``size`` leaves anywhere but at its end (a ``TreeStore`` rule).

    Raises:
        ConflictError: ``start`` is not ``size`` (another writer extended it first).
    """
    if start != size:
        msg = f"the tree has {size} leaves; cannot extend it at {start}"
        raise ConflictError(msg, field="start")


def check_checkpoint_note(size: int, stored: bytes | None, note: bytes) -> None:
    """Refuse a checkpoint note that a store cannot keep beside ``stored`` (a ``TreeStore`` rule).

    Raises:
        ValidationError: a negative size.
        ConflictError: another note is already stored for ``size`` (the same note again is fine).
    """
    if size < 0:
        msg = f"checkpoint size must be ≥ 0, got {size}"
        raise ValidationError(msg, field="size")
    if stored is not None and stored != note:
        msg = f"a different checkpoint is already stored for tree size {size}"
        raise ConflictError(msg, field="size")


class TreeStore(Protocol):
    """Durable perfect-subtree hashes of the Merkle log, and the signed checkpoints.

    Nodes are immutable once written; ``extend`` is atomic (leaves, completed nodes and
    the new size in one transaction), so a reader never sees a size its nodes lack.
    """

    def tree_size(self) -> int:
        """Return the number of leaves."""
        ...

    def extend(self, start: int, leaf_hashes: Sequence[bytes]) -> None:
        """Atomically append leaves at ``start`` with every node they complete, and the size.

        Raises:
            ConflictError: ``start`` is not the current tree size.
        """
        ...

    def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """Return the stored hashes of ``keys`` (absent keys are left out), in one read."""
        ...

    def add_checkpoint(self, size: int, note: bytes) -> None:
        """Store the checkpoint note for ``size``; identical bytes again are a no-op.

        Raises:
            ConflictError: a different note is already stored for ``size``.
        """
        ...

    def checkpoint(self, size: int) -> bytes | None:
        """Return the checkpoint note stored for ``size``, if any."""
        ...

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """Return the checkpoint with the largest size, if any."""
        ...

    def checkpoints(self, start_size: int = 0) -> list[tuple[int, bytes]]:
        """Return every checkpoint of size ≥ ``start_size``, ascending."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class RunReader(Protocol):
    """A tree store that reads runs of consecutive nodes in bulk (both infra stores do)."""

    def node_runs(self, spans: Sequence[NodeSpan]) -> list[bytes]:
        """Return per span the stored hashes, concatenated in index order (absent ones left out)."""
        ...


class MerkleLog:
    """Roots and RFC 9162 proofs at any size of the log, from persisted subtree hashes."""

    def __init__(self, store: TreeStore) -> None:
        self.store = store

    def runs(self, spans: Sequence[NodeSpan]) -> list[bytes]:
        """Return per span the stored hashes, concatenated in index order (absent ones left out).

        One bulk read where the store is a ``RunReader``; otherwise one ``nodes`` lookup.
        """
        if isinstance(self.store, RunReader):
            return self.store.node_runs(spans)
        found = self.store.nodes([(level, i) for level, start, end in spans for i in range(start, end)])
        return [b"".join(found.get((level, i), b"") for i in range(a, b)) for level, a, b in spans]

    def size(self) -> int:
        """Return the number of leaves in the log."""
        return self.store.tree_size()

    def root(self, size: int | None = None) -> bytes:
        """Return MTH of the first ``size`` leaves (default: the whole log).

        Raises:
            ValidationError: ``size`` is negative.
            NotFoundError: the log has fewer than ``size`` leaves.
        """
        n = self.size() if size is None else size
        _non_negative(n, "size")
        if n == 0:
            return EMPTY_ROOT
        [root] = self._hashes([(0, n)], n)
        return root

    def inclusion(self, index: int, size: int) -> InclusionProof:
        """Return the audit path of leaf ``index`` in the tree of ``size`` leaves.

        Raises:
            ValidationError: ``index`` is not in ``[0, size)``.
            NotFoundError: the log has fewer than ``size`` leaves.
        """
        if not 0 <= index < size:
            msg = f"leaf index {index} is outside a tree of size {size}"
            raise ValidationError(msg, field="index")
        path = self._hashes(_inclusion_ranges(index, size), size)
        return InclusionProof(leaf_index=index, tree_size=size, audit_path=[h.hex() for h in path])

    def consistency(self, old: int, new: int) -> ConsistencyProof:
        """Return the consistency path from the tree of ``old`` leaves to that of ``new``.

        Raises:
            ValidationError: ``old`` is negative or above ``new``.
            NotFoundError: the log has fewer than ``new`` leaves.
        """
        _non_negative(old, "old")
        if old > new:
            msg = f"old size {old} is above new size {new}"
            raise ValidationError(msg, field="old")
        if 0 < old < new:
            path = self._hashes(_consistency_ranges(old, new), new)
        else:
            self.root(new)  # the path is empty, but the log must reach ``new``
            path = []
        return ConsistencyProof(first=old, second=new, consistency_path=[h.hex() for h in path])

    def _hashes(self, ranges: Sequence[Range], size: int) -> list[bytes]:
        """MTH of each range, from one batched node read.

        Raises:
            NotFoundError: a node is missing: the log has fewer than ``size`` leaves.
        """
        plan = [subtree_keys(a, b) for a, b in ranges]
        # The last leaf proves the log reaches ``size`` even when the path is empty.
        wanted = list(dict.fromkeys([(0, size - 1), *(k for keys in plan for k in keys)]))
        nodes = self.store.nodes(wanted)
        if len(nodes) < len(wanted):
            msg = f"tree size {size} is beyond the log ({self.size()} leaves)"
            raise NotFoundError(msg, field="size")
        return [_fold(keys, nodes) for keys in plan]

    def append_leaves(self, leaf_hashes: Sequence[bytes]) -> int:
        """Append leaf hashes at the end of the log; return the new size.

        Raises:
            ConflictError: another writer extended the log meanwhile.
        """
        size = self.size()
        if leaf_hashes:
            self.store.extend(size, leaf_hashes)
        return size + len(leaf_hashes)

    def catch_up(self, events: EventStore, batch: int = 10_000, limit: int | None = None) -> int:
        """Add the records of ``events`` the log lacks (at most ``limit``); return how many.

        Raises:
            VerificationError: the event store's positions are not dense.
            ConflictError: another writer extended the log meanwhile.
        """
        start = self.size()
        end = events.size() if limit is None else min(events.size(), start + limit)
        added = 0
        while start + added < end:
            at = start + added
            records = events.read(at, min(batch, end - at))
            if not records:
                break
            _check_positions((r.position for r in records), at)
            self.store.extend(at, [leaf_hash(r.data) for r in records])
            added += len(records)
        return added


def _check_positions(positions: Iterable[int], start: int) -> None:
    for expected, got in enumerate(positions, start):
        if got != expected:
            msg = f"event store positions are not dense: expected position {expected}, got {got}"
            raise VerificationError(msg, field="position")


def _non_negative(value: int, what: str) -> None:
    if value < 0:
        msg = f"{what} must be ≥ 0, got {value}"
        raise ValidationError(msg, field=what)
