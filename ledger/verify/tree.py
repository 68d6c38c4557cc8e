"""The Merkle-tree part of whole-ledger verification, over spans of records.

Beside the chains, the pass recomputes the RFC 9162 tree from the records' leaf hashes, a
span at a time: the nodes the span completes (``completed_runs`` from the recomputed right
edge), compared with the persisted ones as one run per level; at every checkpoint size
the root and batch manifest, compared with the signed ones. A span that fails is halved
(see :mod:`ledger.verify.log`) until one record remains, whose leaf and completed nodes are
then compared one by one, the leaf first: a node names the altered position, a root only
its checkpoint. Once past the persisted tree and the last checkpoint nothing is left to
compare, and the records are no longer hashed for the tree.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ledger.chain import StoredColumns
from ledger.checkpoint import Checkpoint
from ledger.errors import ChainError
from ledger.merkle import EMPTY_ROOT, leaf_hash, node_hash
from ledger.merkle_log import MerkleLog, NodeKey, NodeRun, NodeSpan, completed_runs


@dataclass(frozen=True, slots=True)
class _Tree:
    """The tree recomputed from the records so far, or what extending it would give.

    ``edge`` is its right edge (level → hash of the perfect subtree ending at ``size`` on
    that level, one per set bit of ``size``), ``manifest`` the running hash of the current
    batch, ``next`` the index of the next checkpoint; ``runs`` holds the nodes the extension
    completed and ``reached`` the checkpoints it reached, with their recomputed root and
    batch manifest.
    """

    size: int
    edge: dict[int, bytes]
    manifest: Any
    next: int
    runs: list[NodeRun] = field(default_factory=list)
    reached: list[tuple[Checkpoint, bytes, bytes]] = field(default_factory=list)


class TreeCheck:
    """Every persisted node, and the root and manifest at every checkpoint (a ``SpanCheck``).

    ``persisted`` is the persisted tree's size, read once before the pass. A check may
    start at position ``start`` > 0 when it is given the right edge there (``edge``) and
    the checkpoint batch in progress starts there.
    """

    def __init__(
        self,
        tree: MerkleLog | None,
        opened: Sequence[Checkpoint],
        *,
        persisted: int,
        start: int = 0,
        edge: Mapping[int, bytes] | None = None,
    ) -> None:
        self._tree = tree
        self._opened = opened
        self._persisted = persisted
        after = bisect_right([cp.size for cp in opened], start)
        self._now = _Tree(start, dict(edge or {}), hashlib.sha256(), after)

    @property
    def idle(self) -> bool:
        """Whether nothing is left to compare: past the persisted tree and every checkpoint."""
        return self._now.size >= self._persisted and self._now.next == len(self._opened)

    @property
    def edge(self) -> dict[int, bytes] | None:
        """The recomputed right edge so far (None once idle: it is no longer kept)."""
        return None if self.idle else self._now.edge

    def fast(self, span: StoredColumns) -> Callable[[], None] | None:
        """Check ``span`` in bulk; return its commit, or None when anything differs."""
        if self.idle:
            return partial(self._skip, len(span))
        sha, prefix = hashlib.sha256, b"\x00"  # RFC 9162 leaf hashes, inline: a call per record costs
        step = self._extend([sha(prefix + d).digest() for d in span.data])
        if any(root != cp.root or digest != cp.manifest for cp, root, digest in step.reached):
            return None
        spans = _spans(self._now.size, step.size, self._persisted)
        if self._tree is not None and spans and self._tree.runs(spans) != _joined(step.runs, spans):
            return None
        return partial(setattr, self, "_now", step)

    def exact(self, span: StoredColumns) -> None:
        """Check a one-record span node by node and commit it.

        Raises:
            ChainError: the leaf, a node it completes or the checkpoint it reaches differs.
        """
        if self.idle:
            self._skip(1)
            return
        [data] = span.data
        step = self._extend([leaf_hash(data)])
        if self._tree is not None:
            persisted = self._persisted
            completed = [((lv, lo), run[0]) for lv, lo, run in step.runs if lo < persisted >> lv]
            _check_nodes(self._tree, completed)
        for cp, root, digest in step.reached:
            _check_at(cp, root, digest)
        self._now = step

    def _skip(self, n: int) -> None:
        now = self._now
        self._now = _Tree(now.size + n, {}, now.manifest, now.next)

    def _extend(self, leaves: list[bytes]) -> _Tree:
        now, opened = self._now, self._opened
        start, size = now.size, now.size + len(leaves)
        runs = completed_runs(start, leaves, lambda keys: {(lv, i): now.edge[lv] for lv, i in keys})
        reached: list[tuple[Checkpoint, bytes, bytes]] = []
        manifest, at, i = now.manifest.copy(), start, now.next
        while i < len(opened) and opened[i].size <= size:
            cp = opened[i]
            manifest.update(b"".join(leaves[at - start : cp.size - start]))
            reached.append((cp, _root(_edge_at(cp.size, runs, now.edge)), manifest.digest()))
            manifest, at, i = hashlib.sha256(), cp.size, i + 1
        manifest.update(b"".join(leaves[at - start :]))
        return _Tree(size, _edge_at(size, runs, now.edge), manifest, i, runs, reached)


def edge_keys(size: int) -> list[NodeKey]:
    """The nodes of the right edge of the tree of ``size`` leaves, one per set bit of ``size``."""
    return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]


def _spans(start: int, end: int, persisted: int) -> list[NodeSpan]:
    """The persisted nodes that leaves ``start..end-1`` complete, as one span per level."""
    spans: list[NodeSpan] = []
    level = 0
    while end >> level > start >> level:
        hi = min(end, persisted) >> level
        if hi > start >> level:
            spans.append((level, start >> level, hi))
        level += 1
    return spans


def _joined(runs: Sequence[NodeRun], spans: Sequence[NodeSpan]) -> list[bytes]:
    """The recomputed nodes of ``spans`` (a prefix of each run), as ``MerkleLog.runs`` gives them."""
    by_level = {level: (lo, run) for level, lo, run in runs}
    out = []
    for level, a, b in spans:
        lo, run = by_level[level]
        out.append(b"".join(run[a - lo : b - lo]))
    return out


def _edge_at(size: int, runs: Sequence[NodeRun], old: Mapping[int, bytes]) -> dict[int, bytes]:
    """The right edge at ``size``, from the extension's ``runs`` and the edge before it.

    Runs start where the old tree ended on their level, so an edge node that is in no run
    lies on a level the extension has not yet reached past: it is the old edge's node.
    """
    new = {level: (lo, run) for level, lo, run in runs}
    edge: dict[int, bytes] = {}
    for level in range(size.bit_length()):
        if size >> level & 1:
            idx = (size >> level) - 1
            lo, run = new.get(level, (idx + 1, []))
            edge[level] = run[idx - lo] if idx >= lo else old[level]
    return edge


def _root(edge: Mapping[int, bytes]) -> bytes:
    """The RFC 9162 root of a tree given its right edge: the subtrees folded right to left."""
    root: bytes | None = None
    for level in sorted(edge):
        root = edge[level] if root is None else node_hash(edge[level], root)
    return EMPTY_ROOT if root is None else root


def _check_nodes(tree: MerkleLog, computed: Sequence[tuple[NodeKey, bytes]]) -> None:
    stored = tree.store.nodes([k for k, _ in computed])
    for (level, idx), h in computed:
        found = stored.get((level, idx))
        if found == h:
            continue
        first, end = idx << level, (idx + 1) << level
        if level == 0:
            msg = (
                f"the event at global position {idx} does not match its leaf in the Merkle tree: "
                f"expected leaf hash {_hex(found)}, the stored event gives {h.hex()}; the event was altered"
            )
            raise ChainError(msg, position=idx, expected=_hex(found), found=h.hex())
        msg = (
            f"the persisted Merkle tree node over positions {first}..{end - 1} (level {level}) is "
            f"{_hex(found)}, recomputed {h.hex()}: the stored tree was altered"
        )
        raise ChainError(msg, position=first, expected=h.hex(), found=_hex(found))


def _hex(value: bytes | None) -> str:
    return "missing" if value is None else value.hex()


def _check_at(cp: Checkpoint, root: bytes, manifest: bytes) -> None:
    if root != cp.root:
        msg = (
            f"checkpoint {cp.size}: the Merkle root recomputed from the stored events is {root.hex()}, "
            f"the signed root is {cp.root.hex()}: an event before position {cp.size} was changed"
        )
        raise ChainError(msg, position=cp.size - 1, expected=cp.root.hex(), found=root.hex())
    if manifest != cp.manifest:
        msg = (
            f"checkpoint {cp.size}: batch manifest of positions {cp.first}..{cp.size - 1} expected "
            f"{cp.manifest.hex()}, got {manifest.hex()}"
        )
        raise ChainError(msg, position=cp.first, expected=cp.manifest.hex(), found=manifest.hex())
