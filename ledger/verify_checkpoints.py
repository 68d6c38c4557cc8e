"""Whole-ledger verification: chains, Merkle roots, signed checkpoints and their WORM copies.

One pass over the stored records does everything :mod:`ledger.verify` does for the hash
chains and, beside it, recomputes the RFC 9162 tree from the records' leaf hashes. At every
checkpoint size the recomputed root and batch manifest must equal the signed ones. Before
the pass every checkpoint must open with a trusted key and link to its predecessor (sizes
increasing, ``first`` = previous size, ``previous`` = hash of the previous note); after it,
the log must be at least as long as the latest checkpoint (a shorter log was truncated),
and the persisted tree must give the same roots and consistency proofs. During the pass
every persisted node (leaf hashes included) is compared with the recomputed one, so an
altered event is located at its own position, not at its successor in the stream. Every
checkpoint must exist byte-identical in WORM storage (and nothing in WORM may be missing
from the database).

The pass works on spans of records, like :mod:`ledger.verify`: leaf hashes and completed
nodes a span at a time, the persisted nodes read as one run per level and compared whole.
Faults are reported in the order a record-at-a-time pass meets them: at each record, first
its leaf and the nodes it completes, then a checkpoint whose size it reaches, then its chain.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ledger.chain import Head, StoredColumns, StoredRecord
from ledger.checkpoint import ZERO_HASH, Checkpoint, Verifier, note_hash, open_checkpoint
from ledger.errors import NotFoundError, VerificationError
from ledger.merkle import (
    EMPTY_ROOT,
    MerkleLog,
    NodeKey,
    NodeRun,
    NodeSpan,
    completed_runs,
    leaf_hash,
    node_hash,
    verify_consistency,
)
from ledger.verify import ChainError, verify_log
from ledger.worm import WormStore, checkpoint_key


@dataclass(frozen=True)
class LedgerReport:
    """What a clean whole-ledger verification covered."""

    events: int
    streams: int
    checkpoints: int
    worm_objects: int
    seconds: float


@dataclass(frozen=True, slots=True)
class _Tree:
    """The tree recomputed from the records so far, or what extending it would give.

    ``edge`` is its right edge (level → hash of the perfect subtree ending at ``size`` on
    that level, one per set bit of ``size``), ``runs`` the nodes the extension completed,
    ``reached`` the checkpoints it reached with their recomputed root and batch manifest,
    ``manifest`` the running hash of the current batch and ``next`` the next checkpoint.
    """

    size: int
    edge: dict[int, bytes]
    manifest: Any
    next: int
    runs: list[NodeRun] = field(default_factory=list)
    reached: list[tuple[Checkpoint, bytes, bytes]] = field(default_factory=list)


class _TreeCheck:
    """The tree check: every persisted node, and the root and manifest at every checkpoint."""

    def __init__(self, tree: MerkleLog | None, opened: Sequence[Checkpoint]) -> None:
        self._tree = tree
        self._persisted = tree.size() if tree is not None else 0
        self._opened = opened
        self._now = _Tree(0, {}, hashlib.sha256(), 0)

    def fast(self, span: StoredColumns) -> Callable[[], None] | None:
        sha, prefix = hashlib.sha256, b"\x00"  # RFC 9162 leaf hashes, inline: a call per record costs
        step = self._extend([sha(prefix + d).digest() for d in span.data])
        if any(root != cp.root or digest != cp.manifest for cp, root, digest in step.reached):
            return None
        spans = _spans(self._now.size, step.size, self._persisted)
        if self._tree is not None and spans and self._tree.runs(spans) != _joined(step.runs, spans):
            return None
        return partial(setattr, self, "_now", step)

    def exact(self, span: StoredColumns) -> None:
        [data] = span.data
        step = self._extend([leaf_hash(data)])
        # Most precise first: a node names the altered position, a root only its checkpoint.
        if self._tree is not None:
            persisted = self._persisted
            completed = [((lv, lo), run[0]) for lv, lo, run in step.runs if lo < persisted >> lv]
            _check_nodes(self._tree, completed)
        for cp, root, digest in step.reached:
            _check_at(cp, root, digest)
        self._now = step

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


def open_all(
    checkpoints: Sequence[tuple[int, bytes]], verifiers: Sequence[Verifier], origin: str | None = None
) -> list[Checkpoint]:
    """Open every checkpoint and check the checkpoint chain.

    Raises:
        ChainError: a checkpoint does not open or does not link to its predecessor.
    """
    opened: list[Checkpoint] = []
    prev_size, prev_hash = 0, ZERO_HASH
    for size, note in checkpoints:
        try:
            cp = open_checkpoint(note, verifiers)
        except VerificationError as e:
            msg = f"checkpoint at tree size {size}: {e.message}"
            raise ChainError(msg, expected="a note signed by a trusted key", found=str(size)) from None
        problems = [
            (cp.size == size, "size in the note", size, cp.size),
            (origin is None or cp.origin == origin, "origin", origin, cp.origin),
            (cp.first == prev_size, "batch start (the previous checkpoint's size)", prev_size, cp.first),
            (cp.size > prev_size, "size greater than the previous checkpoint", f"> {prev_size}", cp.size),
            (cp.previous == prev_hash, "previous-checkpoint hash", prev_hash.hex(), cp.previous.hex()),
        ]
        for ok, what, expected, found in problems:
            if not ok:
                msg = f"checkpoint at tree size {size}: {what} expected {expected}, got {found}"
                raise ChainError(msg, expected=str(expected), found=str(found))
        opened.append(cp)
        prev_size, prev_hash = cp.size, note_hash(note)
    return opened


def verify_ledger(
    records: Iterable[StoredRecord | StoredColumns],
    heads: Iterable[tuple[str, Head]],
    checkpoints: Sequence[tuple[int, bytes]],
    verifiers: Sequence[Verifier],
    *,
    tree: MerkleLog | None = None,
    worm: WormStore | None = None,
    origin: str | None = None,
    progress: Callable[[int], object] | None = None,
    reread_heads: Callable[[], Iterable[tuple[str, Head]]] | None = None,
) -> LedgerReport:
    """Verify chains, tree, checkpoints and WORM copies; raise at the first fault.

    ``records`` as for :func:`ledger.verify.verify_log` (spans from ``iter_columns`` are
    the fast form); ``reread_heads`` makes the run safe on a live ledger (see there too).

    Raises:
        ChainError: the first fault, located (position, stream, checkpoint size, expected, found).
    """
    started = time.perf_counter()
    opened = open_all(checkpoints, verifiers, origin)
    tree_check = _TreeCheck(tree, opened)
    chains = verify_log(records, heads, progress, reread_heads=reread_heads, checks=[tree_check])
    count = chains.events
    if opened and count < opened[-1].size:
        latest = opened[-1]
        msg = (
            f"the log holds {count} events but checkpoint {latest.size} (signed {latest.timestamp}) "
            f"sealed {latest.size}: events were removed from the end of the log"
        )
        raise ChainError(msg, position=count, expected=str(latest.size), found=str(count))
    if tree is not None:
        _check_tree(tree, opened)
    objects = _check_worm(worm, checkpoints, origin or "") if worm is not None else 0
    return LedgerReport(
        events=chains.events,
        streams=chains.streams,
        checkpoints=len(opened),
        worm_objects=objects,
        seconds=time.perf_counter() - started,
    )


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


def _check_tree(tree: MerkleLog, opened: Sequence[Checkpoint]) -> None:
    if opened and tree.size() < opened[-1].size:
        msg = f"the persisted Merkle tree holds {tree.size()} leaves, less than checkpoint {opened[-1].size}"
        raise ChainError(msg, expected=str(opened[-1].size), found=str(tree.size()))
    previous: Checkpoint | None = None
    for cp in opened:
        stored = tree.root(cp.size)
        if stored != cp.root:
            msg = (
                f"checkpoint {cp.size}: the persisted tree nodes give root {stored.hex()}, the signed root "
                f"is {cp.root.hex()}: the stored tree was altered (proofs served from it would be wrong)"
            )
            raise ChainError(msg, expected=cp.root.hex(), found=stored.hex())
        if previous is not None:
            proof = tree.consistency(previous.size, cp.size)
            try:
                verify_consistency(previous.size, cp.size, proof.path, previous.root, cp.root)
            except VerificationError as e:
                msg = f"checkpoints {previous.size} → {cp.size} are not consistent: {e.message}"
                raise ChainError(msg, expected="a consistency proof", found="none verifies") from None
        previous = cp


def _check_worm(worm: WormStore, checkpoints: Sequence[tuple[int, bytes]], origin: str) -> int:
    in_db = {checkpoint_key(origin, size): note for size, note in checkpoints}
    for key, note in in_db.items():
        try:
            copy = worm.get(key)
        except NotFoundError:
            msg = f"WORM object {key} is missing: the checkpoint was never anchored or was removed"
            raise ChainError(msg, expected=note_hash(note).hex(), found="missing") from None
        if copy != note:
            msg = (
                f"WORM object {key} differs from the checkpoint in the database: expected sha256 "
                f"{note_hash(note).hex()}, got {note_hash(copy).hex()}"
            )
            raise ChainError(msg, expected=note_hash(note).hex(), found=note_hash(copy).hex())
    extra = sorted(k for k in set(worm.keys("checkpoints/")) - set(in_db) if k.endswith(".note"))
    if extra:
        msg = f"WORM object {extra[0]} has no checkpoint in the database ({len(extra)} such objects)"
        raise ChainError(msg, expected="a database checkpoint", found=extra[0])
    return len(in_db)
