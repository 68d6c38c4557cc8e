"""Whole-ledger verification: chains, Merkle roots, signed checkpoints and their WORM copies.

One pass over the stored records does everything :mod:`ledger.verify.log` does for the hash
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

The pass works on spans of records, like :mod:`ledger.verify.log`: leaf hashes and completed
nodes a span at a time, the persisted nodes read as one run per level and compared whole.
Faults are reported in the order a record-at-a-time pass meets them: at each record, first
its leaf and the nodes it completes, then a checkpoint whose size it reaches, then its chain.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ledger.chain import Head, StoredColumns, StoredRecord
from ledger.checkpoint import ZERO_HASH, Checkpoint, Verifier, note_hash, open_checkpoint
from ledger.errors import ChainError, NotFoundError, VerificationError
from ledger.merkle import verify_consistency
from ledger.merkle_log import MerkleLog
from ledger.verify.log import verify_log
from ledger.verify.ranges import RangeRunner, Resume, plan, stitch
from ledger.verify.tree import TreeCheck
from ledger.worm import WormStore, checkpoint_key


@dataclass(frozen=True)
class LedgerReport:
    """What a clean whole-ledger verification covered."""

    events: int
    streams: int
    checkpoints: int
    worm_objects: int
    seconds: float


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
    ranges: RangeRunner | None = None,
) -> LedgerReport:
    """Verify chains, tree, checkpoints and WORM copies; raise at the first fault.

    ``records`` as for :func:`ledger.verify.log.verify_log` (spans from ``iter_columns`` are
    the fast form); ``reread_heads`` makes the run safe on a live ledger (see there too).
    With ``ranges``, the records below the heads are first checked as ranges side by side
    (``ledger.verify.ranges``) and the pass resumes after them; should the ranges not
    stitch, the whole pass runs over ``records`` as without them.

    Raises:
        ChainError: the first fault, located (position, stream, checkpoint size, expected, found).
    """
    started = time.perf_counter()
    opened = open_all(checkpoints, verifiers, origin)
    persisted = tree.size() if tree is not None else 0
    snapshot = list(heads)
    resume = _in_ranges(ranges, snapshot, opened, persisted, progress) if ranges is not None else None
    if ranges is None or resume is None:
        trees, source, after = TreeCheck(tree, opened, persisted=persisted), records, None
    else:
        at = resume.chains.count
        trees = TreeCheck(tree, opened, persisted=persisted, start=at, edge=resume.edge)
        source, after = ranges.records(at), resume.chains
    chains = verify_log(source, snapshot, progress, reread_heads=reread_heads, checks=[trees], resume=after)
    _check_length(chains.events, opened)
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


def _in_ranges(
    ranges: RangeRunner,
    heads: Sequence[tuple[str, Head]],
    opened: Sequence[Checkpoint],
    persisted: int,
    progress: Callable[[int], object] | None,
) -> Resume | None:
    """Check the records below ``heads`` as ranges side by side; where to resume, if they stitch."""
    end = max((h.position for _, h in heads), default=-1) + 1
    tasks = plan(end, opened, persisted, ranges.processes)
    return stitch(tasks, ranges.run(tasks, progress)) if tasks else None


def _check_length(count: int, opened: Sequence[Checkpoint]) -> None:
    if opened and count < opened[-1].size:
        latest = opened[-1]
        msg = (
            f"the log holds {count} events but checkpoint {latest.size} (signed {latest.timestamp}) "
            f"sealed {latest.size}: events were removed from the end of the log"
        )
        raise ChainError(msg, position=count, expected=str(latest.size), found=str(count))


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
