"""Reading the log back: the read-model decoder, the scan by type and time, the time search.

Pure over the ``EventStore`` port: the API and the projections ask these questions instead of
decoding records themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from uuid import UUID

from ledger.catalogue import CATALOGUE, Catalogue
from ledger.catalogue.anchoring import ANCHOR_STREAMS
from ledger.catalogue.registry import EventType
from ledger.chain import StoredRecord, event_hash
from ledger.encoding import RECORD_VERSION, decode_content_type, decode_record, decode_typed_record
from ledger.event import ReadEvent
from ledger.ports import EventStore

SCAN_LIMIT: Final = 20_000
READ_CHUNK: Final = 2000
# Batches committed out of stamp order can put an earlier recorded_at up to this many positions late.
TIME_MARGIN: Final = 1000

Opener = Callable[[EventType, UUID, dict[str, Any]], tuple[dict[str, Any], list[str]]]


def decode_event(data: bytes, catalogue: Catalogue = CATALOGUE, opener: Opener | None = None) -> ReadEvent:
    """Decode stored record bytes into the read model, upcast to the latest version of its type.

    Personal fields stay sealed unless ``opener`` opens them; it sees the payload in its stored
    version, before upcasting.

    Raises:
        ValueError: a record version this reader does not know.
        msgspec.DecodeError: the bytes are not a record.
    """
    record = decode_typed_record(data)
    if record.v != RECORD_VERSION:
        msg = f"unsupported record version {record.v}"
        raise ValueError(msg)
    content, fields = record.event, record.ledger
    stored = catalogue.get(content.type, content.schema_version)
    payload, erased = (
        (content.payload, []) if opener is None else opener(stored, content.event_id, content.payload)
    )
    latest, payload = catalogue.upcast(stored, payload)
    return ReadEvent(
        position=fields.position,
        stream=content.stream,
        stream_position=fields.stream_position,
        hash=event_hash(bytes.fromhex(fields.prev_hash), data).hex(),
        prev_hash=fields.prev_hash,
        recorded_at=fields.recorded_at,
        event_id=str(content.event_id),
        type=content.type,
        schema_version=latest.version,
        stored_schema_version=content.schema_version,
        occurred_at=content.occurred_at,
        actor={"kind": content.actor.kind, "id": content.actor.id},
        trace_id=content.trace_id,
        jurisdiction=content.jurisdiction,
        payload=payload,
        erased_fields=erased,
    )


def first_at_or_after(store: EventStore, instant: str) -> int:
    """A position from which every event recorded at or after ``instant`` follows.

    Binary search on ``recorded_at``: stamped in commit order, so non-decreasing up to a few
    milliseconds; the result steps back ``TIME_MARGIN`` positions to cover that.
    """
    lo, hi = 0, store.size()
    while lo < hi:
        mid = (lo + hi) // 2
        rec = store.read(mid, 1)
        if rec and decode_record(rec[0].data).ledger.recorded_at < instant:
            lo = mid + 1
        else:
            hi = mid
    return max(0, lo - TIME_MARGIN)


def _of_category(event_type: str, category: str) -> bool:
    return event_type == category or event_type.startswith(f"{category}.")


def scan(
    store: EventStore,
    read: Callable[[StoredRecord], ReadEvent],
    category: str,
    start: int,
    *,
    since: str | None = None,
    until: str | None = None,
    limit: int = 100,
) -> tuple[list[ReadEvent], int | None]:
    """Events of ``category`` (a type or type prefix) recorded in [``since``, ``until``), from ``start``.

    Reads at most ``SCAN_LIMIT`` records per call; returns up to ``limit`` events read with
    ``read`` and the position to continue from (``None`` when the log or the range is done).
    """
    position, scanned = start, 0
    matches: list[ReadEvent] = []
    size = store.size()
    while position < size and len(matches) < limit and scanned < SCAN_LIMIT:
        records = store.read(position, min(READ_CHUNK, size - position))
        if not records:
            break
        for r in records:
            position, scanned = r.position + 1, scanned + 1
            rec = decode_record(r.data)
            if until is not None and rec.ledger.recorded_at >= until:
                return matches, None
            if _of_category(decode_content_type(rec.event).type, category) and (
                since is None or rec.ledger.recorded_at >= since
            ):
                matches.append(read(r))
                if len(matches) >= limit:
                    break
    return matches, (position if position < size else None)


def last_anchor_at(store: EventStore) -> str | None:
    """When the latest anchor receipt was recorded (the last WORM kind in ``ANCHOR_STREAMS`` that has one)."""
    found = None
    for stream in ANCHOR_STREAMS:
        if anchored := store.read_stream(stream):
            found = decode_record(anchored[-1].data).ledger.recorded_at
    return found
