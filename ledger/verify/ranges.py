"""Whole-ledger verification split into position ranges, checked side by side, then stitched.

A range is checked in bulk like the sequential pass (``ChainCheck``, ``TreeCheck``), with
what it cannot know assumed and handed back: each stream's first record in the range is
taken to continue the stream as it claims (stream position, prev_hash), and the tree's
right edge at the range's start is read from the persisted tree. ``stitch`` then checks
the assumptions in position order: every claim against the stream's end recomputed by
the earlier ranges, every assumed edge against the edge the previous range recomputed.
Ranges start only where no checkpoint batch is open, so each batch manifest is computed
within one range.

Nothing is located here. A range that is not clean, or an assumption that does not hold,
makes the caller run the sequential pass, which names the first fault; when everything
stitches, the sequential pass would have found every range clean too, and it resumes
where the ranges end (records appended meanwhile, and the heads).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final, Protocol

from ledger.chain import StoredColumns
from ledger.checkpoint import Checkpoint
from ledger.merkle_log import MerkleLog
from ledger.verify.chain import ChainCheck, End, stream_start
from ledger.verify.log import ChainState, iter_columns
from ledger.verify.tree import TreeCheck, edge_keys

Progress = Callable[[int], object]
MIN_RANGE: Final = 100_000
"""Records a range must hold to be worth a process of its own (one costs ~0.4 s to start)."""


@dataclass(frozen=True)
class RangeTask:
    """Check records ``start..end-1``: the tree persisted to ``persisted``, the checkpoints reached inside."""

    start: int
    end: int
    persisted: int
    checkpoints: list[Checkpoint]


@dataclass(frozen=True)
class RangeResult:
    """What a clean range recomputed, and what it assumed (checked by ``stitch``).

    ``firsts``: per stream, the stream position and prev_hash its first record in the
    range claims; ``edge_before``: the persisted right edge it started from (None when the
    range had no tree left to check); ``edge_after``: the edge it recomputed.
    """

    firsts: dict[str, tuple[int, str]]
    ends: dict[str, End]
    edge_before: dict[int, bytes] | None
    edge_after: dict[int, bytes] | None


@dataclass(frozen=True)
class Resume:
    """Where stitched ranges leave the pass: chains and tree verified below ``chains.count``."""

    chains: ChainState
    edge: dict[int, bytes] | None


class RangeRunner(Protocol):
    """Runs range checks side by side (``infra.wiring.processes``: one process each)."""

    processes: int

    def run(self, tasks: Sequence[RangeTask], progress: Progress | None) -> list[RangeResult | None]:
        """Return ``check_range`` of every task, in order."""
        ...

    def records(self, start: int) -> Iterable[StoredColumns]:
        """The records from position ``start`` on, for the rest of the pass."""
        ...


def plan(end: int, opened: Sequence[Checkpoint], persisted: int, processes: int) -> list[RangeTask]:
    """Split records ``0..end-1`` into up to ``processes`` ranges, at most one per ``MIN_RANGE`` records.

    A range starts at a checkpoint size or past the last checkpoint; [] when one range it is.
    """
    sizes = [cp.size for cp in opened]
    last = sizes[-1] if sizes else 0
    starts = {0}
    for k in range(1, min(processes, end // MIN_RANGE)):
        ideal = end * k // processes
        starts.add(ideal if ideal >= last else _nearest(sizes, ideal))
    bounds = sorted(starts | {end})
    if len(bounds) < 3:  # noqa: PLR2004 - 0, end: a single range
        return []
    tasks = []
    for a, b in pairwise(bounds):
        inside = [cp for cp in opened if a < cp.size <= b]
        tasks.append(RangeTask(a, b, persisted, inside))
    return tasks


def _nearest(sizes: Sequence[int], ideal: int) -> int:
    i = bisect_left(sizes, ideal)
    return min(sizes[max(i - 1, 0) : i + 1], key=lambda s: abs(s - ideal))


def check_range(
    task: RangeTask,
    read: Callable[[int, int], StoredColumns],
    tree: MerkleLog | None,
    progress: Progress | None = None,
) -> RangeResult | None:
    """Check one range in bulk (``read``: ``EventStore.read_columns``); None unless it is clean."""
    chains = ChainCheck(task.start, deferred=True)
    before: dict[int, bytes] | None = None
    if task.start < task.persisted or task.checkpoints:  # else no tree is left to check
        before = _persisted_edge(tree, task.start)
        if before is None:
            return None
    trees = TreeCheck(tree, task.checkpoints, persisted=task.persisted, start=task.start, edge=before)
    for span in iter_columns(read, start=task.start, end=task.end):
        tree_commit, chain_commit = trees.fast(span), chains.fast(span)
        if tree_commit is None or chain_commit is None:
            return None
        tree_commit()
        chain_commit()
        if progress is not None:
            progress(len(span))
    if chains.count != task.end:
        return None
    return RangeResult(chains.firsts, chains.ends, before, trees.edge)


def _persisted_edge(tree: MerkleLog | None, size: int) -> dict[int, bytes] | None:
    """The persisted right edge of the first ``size`` leaves (None if a node is missing)."""
    keys = edge_keys(size)
    found = tree.store.nodes(keys) if tree is not None and keys else {}
    if len(found) < len(keys):
        return None
    return {level: found[(level, idx)] for level, idx in keys}


def stitch(tasks: Sequence[RangeTask], results: Sequence[RangeResult | None]) -> Resume | None:
    """Check every range's assumptions against the ranges before it; None if any fails."""
    ends: dict[str, End] = {}
    edge: dict[int, bytes] | None = {}
    for result in results:
        if result is None or (result.edge_before is not None and result.edge_before != edge):
            return None
        for stream, (sp, prev_hex) in result.firsts.items():
            before = ends.get(stream) or stream_start(stream)
            if sp != before[0] + 1 or prev_hex != before[2]:
                return None
        ends.update(result.ends)
        edge = result.edge_after
    return Resume(ChainState(tasks[-1].end, ends), edge)
