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

import hashlib
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, NamedTuple, Protocol

import msgspec

from ledger.chain import DOMAIN_TAG, GENESIS, Head, StoredColumns, StoredRecord, event_hash, stream_id_hex
from ledger.encoding import decode_record
from ledger.errors import VerificationError

SPAN: Final = 8192
"""Records per bulk check (and per bulk read in ``iter_columns``)."""
_GENESIS_HEX: Final = GENESIS.hex()


class _Keys(msgspec.Struct):
    event_id: str
    stream: str


class _Ledger(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    position: int
    prev_hash: str
    recorded_at: str
    stream_position: int


class _Record(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """Record v1 read exactly as strictly as ``decode_record`` then ``_Keys`` read it, in one pass."""

    event: _Keys
    ledger: _Ledger
    v: int


_keys = msgspec.json.Decoder(_Keys)
_decode = msgspec.json.Decoder(_Record).decode

End = tuple[int, bytes, str, int, str]
"""A stream's recomputed end: stream position, hash, the hash in hex, global position, stream id."""
_Claims = dict[str, tuple[int, str]]
"""Per stream, the stream position and prev_hash its first record claims (deferred checks)."""


class _Row(NamedTuple):
    position: int
    stream_id: str
    stream_position: int
    event_id: str
    data: bytes


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


class ChainCheck:
    """The chain check (a ``SpanCheck``): every stream's recomputed end so far.

    ``deferred``, for a range of the log checked on its own (``ledger.verify_ranges``): a
    stream met for the first time is taken to continue as its record claims (stream
    position and prev_hash), and the claim is kept in ``firsts`` to be checked later
    against the stream's end before the range.
    """

    def __init__(self, count: int = 0, ends: dict[str, End] | None = None, *, deferred: bool = False) -> None:
        self.count = count
        self.ends: dict[str, End] = {} if ends is None else ends
        self.firsts: _Claims = {}
        self._deferred = deferred

    def fast(self, span: StoredColumns) -> Callable[[], None] | None:
        """Check ``span`` in bulk; return its commit, or None when anything differs."""
        n = len(span)
        try:
            records = list(map(_decode, span.data))
        except (msgspec.MsgspecError, UnicodeDecodeError):
            return None
        ledgers = [r.ledger for r in records]
        keys = [r.event for r in records]
        if (
            span.positions != list(range(self.count, self.count + n))
            or [x.position for x in ledgers] != span.positions
            or [x.stream_position for x in ledgers] != span.stream_positions
            or not _same_ids(span.event_ids, [k.event_id for k in keys])
        ):
            return None
        firsts: _Claims = {}
        try:
            new = self._link([k.stream for k in keys], ledgers, span, firsts)
        except ValueError:  # a deferred claim's prev_hash is not hex: it can continue nothing
            return None
        if new is None:
            return None

        def commit() -> None:
            self.ends.update(new)
            self.firsts.update(firsts)
            self.count += n

        return commit

    def _link(
        self, streams: list[str], ledgers: list[_Ledger], span: StoredColumns, firsts: _Claims
    ) -> dict[str, End] | None:
        """The span's new stream ends, or None where a record does not continue its stream."""
        new: dict[str, End] = {}
        get, known, sha, tag = new.get, self.ends.get, hashlib.sha256, DOMAIN_TAG
        for stream, ledger, sid, data, position in zip(
            streams, ledgers, span.stream_ids, span.data, span.positions, strict=True
        ):
            end = get(stream) or known(stream) or self._start(stream, ledger, firsts)
            sp, prev, prev_hex, _, expected_sid = end
            sp += 1
            if ledger.stream_position != sp or ledger.prev_hash != prev_hex or sid != expected_sid:
                return None
            h = sha(tag + prev + data).digest()
            new[stream] = (sp, h, h.hex(), position, sid)
        return new

    def _start(self, stream: str, ledger: _Ledger, firsts: _Claims) -> End:
        """The end a stream met for the first time continues: genesis, or (deferred) its claim."""
        if not self._deferred:
            return stream_start(stream)
        firsts[stream] = (ledger.stream_position, ledger.prev_hash)
        prev = bytes.fromhex(ledger.prev_hash)
        return (ledger.stream_position - 1, prev, ledger.prev_hash, -1, stream_id_hex(stream))

    def exact(self, span: StoredColumns) -> None:
        """Check a one-record span field by field and commit it.

        Raises:
            ChainError: the record's fault, located.
        """
        [row] = map(_Row._make, span.rows())
        _check_record(self.count, row, self.ends)
        self.count += 1


@lru_cache(maxsize=1 << 16)
def stream_start(stream: str) -> End:
    """The end of a stream before its first event: stream position -1, linked to genesis."""
    return (-1, GENESIS, _GENESIS_HEX, -1, stream_id_hex(stream))


def _same_ids(columns: list[str], ids: list[str]) -> bool:
    """Whether each id column (32 hex digits) is ``str(UUID)`` of the id beside it, in bulk.

    With every column 32 characters and every id 36 with hyphens at the four canonical
    places, the joined ids lose exactly those hyphens (any other makes the lengths differ),
    so the joined strings are equal exactly when every pair is.
    """
    joined = "".join(ids)
    return (
        set(map(len, ids)) == {36}
        and set(map(len, columns)) == {32}
        and joined[8::36] == joined[13::36] == joined[18::36] == joined[23::36] == "-" * len(ids)
        and joined.replace("-", "") == "".join(columns)
    )


def _uuid_text(column: str) -> str:
    """``str(UUID)`` of an id column (32 hex digits), for comparison and messages."""
    return f"{column[:8]}-{column[8:12]}-{column[12:16]}-{column[16:20]}-{column[20:]}"


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


def _check_record(expected_position: int, r: _Row, ends: dict[str, End]) -> None:
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
    _same(where, "event_id column", _uuid_text(r.event_id), keys.event_id, r, stream)
    end = ends.get(stream)
    sp, prev, prev_hex, before, sid = end or stream_start(stream)
    _same(where, "stream id column", _uuid_text(sid), _uuid_text(r.stream_id), r, stream)
    next_sp = sp + 1
    _same(where, "stream position", next_sp, ledger.stream_position, r, stream)
    _same(where, "stream position column", next_sp, r.stream_position, r, stream)
    if ledger.prev_hash != prev_hex:
        after = "genesis" if end is None else f"stream position {sp} (global {before})"
        msg = (
            f"{where}: prev_hash does not match the hash of {after}: expected {prev_hex}, "
            f"got {ledger.prev_hash}; one of the two events was altered or replaced"
        )
        raise ChainError(
            msg,
            position=r.position,
            stream=stream,
            stream_position=next_sp,
            expected=prev_hex,
            found=ledger.prev_hash,
        )
    h = event_hash(prev, r.data)
    ends[stream] = (next_sp, h, h.hex(), r.position, sid)


def _same(where: str, what: str, expected: object, found: object, r: _Row, stream: str) -> None:
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
