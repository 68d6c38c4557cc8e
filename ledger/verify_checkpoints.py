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
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from ledger.chain import Head, StoredRecord
from ledger.checkpoint import ZERO_HASH, Checkpoint, Verifier, note_hash, open_checkpoint
from ledger.errors import NotFoundError, VerificationError
from ledger.merkle import MerkleLog, NodeKey, leaf_hash, node_hash, verify_consistency
from ledger.verify import ChainError, verify_log
from ledger.worm import WormStore, checkpoint_key

NODE_CHECK_CHUNK = 8192


@dataclass(frozen=True)
class LedgerReport:
    """What a clean whole-ledger verification covered."""

    events: int
    streams: int
    checkpoints: int
    worm_objects: int
    seconds: float


class CompactRange:
    """The perfect-subtree hashes covering leaves ``[0, size)``: enough to give the root."""

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []

    def append(self, leaf: bytes, completed: list[tuple[NodeKey, bytes]] | None = None) -> None:
        """Add one leaf hash, merging completed subtrees (listed in ``completed`` if given)."""
        h = leaf
        n, level = self.size, 0
        if completed is not None:
            completed.append(((0, n), h))
        while n & 1:
            h = node_hash(self._stack.pop(), h)
            n >>= 1
            level += 1
            if completed is not None:
                completed.append(((level, n), h))
        self._stack.append(h)
        self.size += 1

    def root(self) -> bytes:
        """The RFC 9162 root of the leaves so far."""
        if not self._stack:
            return hashlib.sha256(b"").digest()
        h = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            h = node_hash(left, h)
        return h


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
    records: Iterable[StoredRecord],
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

    ``reread_heads`` makes the run safe on a live ledger (see :func:`ledger.verify.verify_log`).

    Raises:
        ChainError: the first fault, located (position, stream, checkpoint size, expected, found).
    """
    started = time.perf_counter()
    opened = open_all(checkpoints, verifiers, origin)
    count = 0

    tree_size = tree.size() if tree is not None else 0

    def leaves() -> Iterator[StoredRecord]:
        nonlocal count
        tree_range = CompactRange()
        manifest = hashlib.sha256()
        pending = iter(opened)
        cp = next(pending, None)
        for chunk in _chunked(records, NODE_CHECK_CHUNK):
            completed: list[tuple[NodeKey, bytes]] = []
            reached: list[tuple[Checkpoint, bytes, bytes]] = []
            for r in chunk:
                leaf = leaf_hash(r.data)
                tree_range.append(leaf, completed if tree_range.size < tree_size else None)
                manifest.update(leaf)
                count += 1
                if cp is not None and tree_range.size == cp.size:
                    reached.append((cp, tree_range.root(), manifest.digest()))
                    manifest = hashlib.sha256()
                    cp = next(pending, None)
            # Most precise first: a node names the altered position, a root only its checkpoint.
            if tree is not None and completed:
                _check_nodes(tree, completed)
            for at, root, digest in reached:
                _check_at(at, root, digest)
            yield from chunk

    chains = verify_log(leaves(), heads, progress, reread_heads=reread_heads)
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


def _chunked(records: Iterable[StoredRecord], size: int) -> Iterator[list[StoredRecord]]:
    it = iter(records)
    while chunk := list(islice(it, size)):
        yield chunk


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
