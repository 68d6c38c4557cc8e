"""Whole-log verification: recompute every chain from stored bytes and name the first fault.

Checks, in global-position order: positions are dense from 0; every record decodes as
record v1; the position, stream position, stream id and event id stored beside a record
match the ones inside it; each record's ``prev_hash`` is the recomputed hash of its
stream's previous record (``GENESIS`` for the first). Then every stream's recomputed end
must equal its stored head (catches a truncated or altered stream end).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from uuid import UUID

import msgspec

from ledger.chain import GENESIS, Head, StoredRecord, event_hash, stream_id
from ledger.encoding import decode_record
from ledger.errors import VerificationError


class _Keys(msgspec.Struct):
    event_id: str
    stream: str


_keys = msgspec.json.Decoder(_Keys)


@dataclass(slots=True)
class _End:
    stream_position: int
    hash: bytes
    position: int
    stream_id: UUID


@dataclass(frozen=True)
class Report:
    """What a clean verification covered."""

    events: int
    streams: int
    seconds: float


class ChainError(VerificationError):
    """The first fault found, located: global position, stream, stream position."""

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        stream: str | None = None,
        stream_position: int | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        super().__init__(message)
        self.position = position
        self.stream = stream
        self.stream_position = stream_position
        self.expected = expected
        self.found = found

    def as_dict(self) -> dict[str, object]:
        """The fault as data (for ``--json``)."""
        return {
            "message": self.message,
            "position": self.position,
            "stream": self.stream,
            "stream_position": self.stream_position,
            "expected": self.expected,
            "found": self.found,
        }


def verify_log(
    records: Iterable[StoredRecord],
    heads: Iterable[tuple[str, Head]],
    progress: Callable[[int], object] | None = None,
    *,
    reread_heads: Callable[[], Iterable[tuple[str, Head]]] | None = None,
) -> Report:
    """Verify every record and head; return a report or raise at the first fault.

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
    ends: dict[str, _End] = {}
    at_cut: dict[str, _End] | None = None
    count = 0
    for count, r in enumerate(records, start=1):
        if cut is not None and at_cut is None and r.position >= cut:
            at_cut = dict(ends)
        _check_record(count - 1, r, ends)
        if progress is not None and count % 65536 == 0:
            progress(65536)
    if progress is not None:
        progress(count % 65536)
    _check_heads(ends if at_cut is None else at_cut, snapshot)
    if at_cut is not None and reread_heads is not None and cut is not None:
        _check_later_heads(ends, cut, dict(reread_heads()))
    return Report(events=count, streams=len(ends), seconds=time.perf_counter() - started)


def _check_later_heads(ends: dict[str, _End], cut: int, later: dict[str, Head]) -> None:
    for stream, end in ends.items():
        if end.position < cut:
            continue
        head = later.get(stream)
        if head is None or head.position < end.position:
            what = "no head" if head is None else f"a head at global position {head.position}"
            msg = (
                f"stream {stream} has an event at global position {end.position} (stream position "
                f"{end.stream_position}) but {what}: the stream's head was removed or rewound"
            )
            raise ChainError(
                msg,
                position=end.position,
                stream=stream,
                stream_position=end.stream_position,
                expected=f"a head at position >= {end.position}",
                found=what,
            )
        if head.position == end.position and (head.stream_position, head.hash) != (
            end.stream_position,
            end.hash,
        ):
            raise _head_mismatch(stream, end, head)


def _check_record(expected_position: int, r: StoredRecord, ends: dict[str, _End]) -> None:
    if r.position != expected_position:
        what = "is missing" if r.position > expected_position else "appears twice"
        msg = f"global position {expected_position} {what}: the next stored record is at {r.position}"
        raise ChainError(
            msg, position=expected_position, expected=str(expected_position), found=str(r.position)
        )
    try:
        record = decode_record(r.data)
        keys = _keys.decode(record.event)
    except (msgspec.MsgspecError, UnicodeDecodeError) as e:
        msg = f"record at global position {r.position} is not a valid v1 record: {e}"
        raise ChainError(msg, position=r.position) from None
    stream, ledger = keys.stream, record.ledger
    where = f"stream {stream} position {ledger.stream_position} (global {r.position})"
    _same(where, "global position inside the record", r.position, ledger.position, r, stream)
    _same(where, "event_id column", str(r.event_id), keys.event_id, r, stream)
    end = ends.get(stream)
    sid = end.stream_id if end is not None else stream_id(stream)
    _same(where, "stream id column", sid, r.stream_id, r, stream)
    next_sp = 0 if end is None else end.stream_position + 1
    _same(where, "stream position", next_sp, ledger.stream_position, r, stream)
    _same(where, "stream position column", next_sp, r.stream_position, r, stream)
    prev = GENESIS if end is None else end.hash
    if ledger.prev_hash != prev.hex():
        before = "genesis" if end is None else f"stream position {next_sp - 1} (global {end.position})"
        msg = (
            f"{where}: prev_hash does not match the hash of {before}: expected {prev.hex()}, "
            f"got {ledger.prev_hash}; one of the two events was altered or replaced"
        )
        raise ChainError(
            msg,
            position=r.position,
            stream=stream,
            stream_position=next_sp,
            expected=prev.hex(),
            found=ledger.prev_hash,
        )
    ends[stream] = _End(next_sp, event_hash(prev, r.data), r.position, sid)


def _same(where: str, what: str, expected: object, found: object, r: StoredRecord, stream: str) -> None:
    if expected != found:
        msg = f"{where}: {what} expected {expected}, got {found}"
        raise ChainError(
            msg,
            position=r.position,
            stream=stream,
            stream_position=r.stream_position,
            expected=str(expected),
            found=str(found),
        )


def _check_heads(ends: dict[str, _End], heads: Iterable[tuple[str, Head]]) -> None:
    seen: set[str] = set()
    for stream, head in heads:
        seen.add(stream)
        end = ends.get(stream)
        if end is None:
            msg = (
                f"stream {stream}: head records stream position {head.stream_position}, the log has no event"
            )
            raise ChainError(msg, stream=stream, expected=str(head.stream_position), found="none")
        if (end.stream_position, end.hash, end.position) != (head.stream_position, head.hash, head.position):
            raise _head_mismatch(stream, end, head)
    missing = sorted(set(ends) - seen)
    if missing:
        msg = f"stream {missing[0]} has events but no head record ({len(missing)} such streams)"
        raise ChainError(msg, stream=missing[0])


def _head_mismatch(stream: str, end: _End, head: Head) -> ChainError:
    if end.stream_position < head.stream_position:
        msg = (
            f"stream {stream} ends at stream position {end.stream_position} (global {end.position}) "
            f"but its head records position {head.stream_position} (global {head.position}): "
            f"events were removed from the end of the stream"
        )
    else:
        msg = (
            f"stream {stream}: head expected stream position {head.stream_position}, hash "
            f"{head.hash.hex()}, got position {end.stream_position}, hash {end.hash.hex()}; "
            f"the last event of the stream was altered or the head was rewritten"
        )
    return ChainError(
        msg,
        position=end.position,
        stream=stream,
        stream_position=end.stream_position,
        expected=f"{head.stream_position}:{head.hash.hex()}",
        found=f"{end.stream_position}:{end.hash.hex()}",
    )


def iter_store(read: Callable[[int, int], list[StoredRecord]], chunk: int = 5000) -> Iterator[StoredRecord]:
    """Iterate a store's records in position order, ``chunk`` at a time."""
    start = 0
    while batch := read(start, chunk):
        yield from batch
        start = batch[-1].position + 1
