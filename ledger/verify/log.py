"""Whole-log verification: recompute every chain from stored bytes and name the first fault.

Checks, in global-position order: positions are dense from 0; every record decodes as
record v1; the position, stream position, stream id and event id stored beside a record
match the ones inside it; each record's ``prev_hash`` is the recomputed hash of its
stream's previous record (``GENESIS`` for the first). Then every stream's recomputed end
must equal its stored head (catches a truncated or altered stream end).

Records are checked a span at a time (``StoredColumns``, thousands of records), in bulk:
one decode per record into a minimal Struct, whole-column comparisons and one loop for the
chain hashes. A span that fails any bulk check is halved until a single record fails,
which is then checked field by field: the fault reported is always the first in position
order, named exactly as a record-at-a-time pass names it, and the bulk path never has to
locate anything.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from ledger.chain import Head, StoredColumns, StoredRecord
from ledger.errors import ChainError
from ledger.verify.chain import ChainCheck, End

__all__ = [
    "SPAN",
    "ChainState",
    "Report",
    "SpanCheck",
    "iter_columns",
    "iter_store",
    "verify_log",
]

SPAN: Final = 8192
"""Records per bulk check (and per bulk read in ``iter_columns``)."""


@dataclass(frozen=True)
class Report:
    """What a clean verification covered."""

    events: int
    streams: int
    seconds: float


class SpanCheck(Protocol):
    """One kind of check over consecutive records: in bulk, or one record field by field."""

    def fast(self, span: StoredColumns) -> Callable[[], None] | None:
        """Check ``span`` in bulk; return how to commit it when clean, None when anything differs."""
        ...

    def exact(self, span: StoredColumns) -> None:
        """Check a one-record span field by field, then commit it.

        Raises:
            ChainError: the record's fault, located.
        """
        ...


@dataclass(frozen=True)
class ChainState:
    """Every stream's recomputed end after the first ``count`` records: where a pass resumes."""

    count: int
    ends: dict[str, End]


def verify_log(
    records: Iterable[StoredRecord | StoredColumns],
    heads: Iterable[tuple[str, Head]],
    progress: Callable[[int], object] | None = None,
    *,
    reread_heads: Callable[[], Iterable[tuple[str, Head]]] | None = None,
    checks: Sequence[SpanCheck] = (),
    resume: ChainState | None = None,
) -> Report:
    """Verify every record and head; return a report or raise at the first fault.

    ``records`` may mix single records and spans (``StoredColumns``, the fast form).
    ``checks`` run beside the chain check and, at any one record, before it. With
    ``resume`` the records start at ``resume.count``, every earlier one already verified.

    Without ``reread_heads`` the log must not change while it is verified: every record
    needs its head in ``heads``. With it (a live ledger), ``heads`` is read first, in one
    snapshot: appends commit records and heads together, so the records below the snapshot
    must end exactly at its heads; records appended during the run are still chain-checked,
    and their streams' heads, read again at the end, must not lie behind them.

    Raises:
        ChainError: with the fault located and "expected …, got …".
    """
    started = time.perf_counter()
    snapshot = list(heads)
    cut = max((h.position for _, h in snapshot), default=-1) + 1 if reread_heads is not None else None
    chains = ChainCheck() if resume is None else ChainCheck(resume.count, resume.ends)
    order = [*checks, chains]
    at_cut: dict[str, End] | None = None
    for span in _spans(records, cut):
        if cut is not None and at_cut is None and span.positions[0] >= cut:
            at_cut = dict(chains.ends)
        _check_span(span, order)
        if progress is not None:
            progress(len(span))
    _check_heads(chains.ends if at_cut is None else at_cut, snapshot)
    if at_cut is not None and reread_heads is not None and cut is not None:
        _check_later_heads(chains.ends, cut, dict(reread_heads()))
    return Report(events=chains.count, streams=len(chains.ends), seconds=time.perf_counter() - started)


def _check_span(span: StoredColumns, checks: Sequence[SpanCheck]) -> None:
    """Commit ``span`` if every bulk check passes; else halve it, down to one exact record."""
    commits = []
    for check in checks:
        commit = check.fast(span)
        if commit is None:
            break
        commits.append(commit)
    else:
        for commit in commits:
            commit()
        return
    if len(span) == 1:
        for check in checks:
            check.exact(span)
        return
    half = len(span) // 2
    _check_span(span.slice(0, half), checks)
    _check_span(span.slice(half, len(span)), checks)


def _spans(records: Iterable[StoredRecord | StoredColumns], cut: int | None) -> Iterator[StoredColumns]:
    """Records as spans, each split where it crosses position ``cut``."""
    for span in _grouped(records):
        at = len(span) if cut is None else bisect_left(span.positions, cut)
        if 0 < at < len(span):
            yield span.slice(0, at)
            yield span.slice(at, len(span))
        else:
            yield span


def _grouped(records: Iterable[StoredRecord | StoredColumns]) -> Iterator[StoredColumns]:
    pending: list[StoredRecord] = []
    for item in records:
        if isinstance(item, StoredRecord):
            pending.append(item)
            if len(pending) < SPAN:
                continue
        if pending:
            yield StoredColumns.of_records(pending)
            pending = []
        if isinstance(item, StoredColumns) and item:
            yield item
    if pending:
        yield StoredColumns.of_records(pending)


def _check_later_heads(ends: dict[str, End], cut: int, later: dict[str, Head]) -> None:
    for stream, (sp, h, _, position, _) in ends.items():
        if position < cut:
            continue
        head = later.get(stream)
        if head is None or head.position < position:
            what = "no head" if head is None else f"a head at global position {head.position}"
            msg = (
                f"stream {stream} has an event at global position {position} (stream position "
                f"{sp}) but {what}: the stream's head was removed or rewound"
            )
            raise ChainError(
                msg,
                position=position,
                stream=stream,
                stream_position=sp,
                expected=f"a head at position >= {position}",
                found=what,
            )
        if head.position == position and (head.stream_position, head.hash) != (sp, h):
            raise _head_mismatch(stream, ends[stream], head)


def _check_heads(ends: dict[str, End], heads: Iterable[tuple[str, Head]]) -> None:
    seen: set[str] = set()
    for stream, head in heads:
        seen.add(stream)
        end = ends.get(stream)
        if end is None:
            msg = (
                f"stream {stream}: head records stream position {head.stream_position}, the log has no event"
            )
            raise ChainError(msg, stream=stream, expected=str(head.stream_position), found="none")
        sp, h, _, position, _ = end
        if (sp, h, position) != (head.stream_position, head.hash, head.position):
            raise _head_mismatch(stream, end, head)
    missing = sorted(set(ends) - seen)
    if missing:
        msg = f"stream {missing[0]} has events but no head record ({len(missing)} such streams)"
        raise ChainError(msg, stream=missing[0])


def _head_mismatch(stream: str, end: End, head: Head) -> ChainError:
    sp, h, _, position, _ = end
    if sp < head.stream_position:
        msg = (
            f"stream {stream} ends at stream position {sp} (global {position}) "
            f"but its head records position {head.stream_position} (global {head.position}): "
            f"events were removed from the end of the stream"
        )
    else:
        msg = (
            f"stream {stream}: head expected stream position {head.stream_position}, hash "
            f"{head.hash.hex()}, got position {sp}, hash {h.hex()}; "
            f"the last event of the stream was altered or the head was rewritten"
        )
    return ChainError(
        msg,
        position=position,
        stream=stream,
        stream_position=sp,
        expected=f"{head.stream_position}:{head.hash.hex()}",
        found=f"{sp}:{h.hex()}",
    )


def iter_store(read: Callable[[int, int], list[StoredRecord]], chunk: int = 5000) -> Iterator[StoredRecord]:
    """Iterate a store's records in position order, ``chunk`` at a time."""
    start = 0
    while batch := read(start, chunk):
        yield from batch
        start = batch[-1].position + 1


def iter_columns(
    read: Callable[[int, int], StoredColumns], chunk: int = SPAN, *, start: int = 0, end: int | None = None
) -> Iterator[StoredColumns]:
    """Iterate a store's records from ``start`` (to ``end``) as spans of ``chunk`` (``read_columns``)."""
    while end is None or start < end:
        batch = read(start, chunk if end is None else min(chunk, end - start))
        if not batch:
            return
        yield batch
        start = batch.positions[-1] + 1
