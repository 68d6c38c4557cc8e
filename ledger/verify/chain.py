"""The chain part of whole-log verification (``ChainCheck``, a ``ledger.verify.log.SpanCheck``).

In bulk, a span of records is decoded once each into ``ledger.encoding.BulkRecord`` (as strict as
``decode_record`` plus the content's event id and stream), its columns compared whole
with what the records hold, and its chains followed in one loop that hashes each record
onto its stream's recomputed end. One record on its own is checked field by field, in the
order the faults are named: position, record v1, position inside, event id column, stream
id column, stream position (inside, then column), prev_hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Final, NamedTuple

import msgspec

from ledger.chain import DOMAIN_TAG, GENESIS, StoredColumns, event_hash, stream_id_hex
from ledger.encoding import BulkLedger, decode_bulk_record, decode_content_keys, decode_record
from ledger.errors import ChainError

_GENESIS_HEX: Final = GENESIS.hex()


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


class ChainCheck:
    """The chain check (a ``SpanCheck``): every stream's recomputed end so far.

    ``deferred``, for a range of the log checked on its own (``ledger.verify.ranges``): a
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
            records = list(map(decode_bulk_record, span.data))
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
        self, streams: list[str], ledgers: list[BulkLedger], span: StoredColumns, firsts: _Claims
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

    def _start(self, stream: str, ledger: BulkLedger, firsts: _Claims) -> End:
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


def _check_record(expected_position: int, r: _Row, ends: dict[str, End]) -> None:
    if r.position != expected_position:
        what = "is missing" if r.position > expected_position else "appears twice"
        msg = f"global position {expected_position} {what}: the next stored record is at {r.position}"
        raise ChainError(
            msg, position=expected_position, expected=str(expected_position), found=str(r.position)
        )
    try:
        record = decode_record(r.data)
        keys = decode_content_keys(record.event)
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
