"""The partial record views of ``ledger.encoding`` against ``decode_record``/``decode_content``.

``BulkRecord`` claims to be exactly as strict as ``decode_record`` followed by
``ContentKeys``, and ``TypedRecord`` (the read model's one-pass decode) as strict as
``decode_record`` followed by ``decode_content``: on any bytes both accept with the same
fields, or both reject. The content
views (``ContentKeys``, ``ContentStream``, ``ContentType``, ``AnchorContentView``) are
deliberately looser than ``decode_content``: they ignore every field they do not name, so
for them the tests pin that they accept what ``decode_content`` accepts (with the same
values) and exactly what they still reject.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.encoding import (
    content_bytes,
    decode_anchor_content,
    decode_bulk_record,
    decode_content,
    decode_content_keys,
    decode_content_stream,
    decode_content_type,
    decode_record,
    decode_typed_record,
    record_bytes,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REJECTED = "rejected"
EVENT_ID = "0b0f6a4e-2f59-4c31-9a5e-1d4a3b7c9e01"
DIGEST = "ab" * 32
CONTENT: dict[str, Any] = {
    "actor": {"id": "sealer", "kind": "system"},
    "event_id": EVENT_ID,
    "jurisdiction": "MT",
    "occurred_at": "2026-01-02T00:00:00.000Z",
    "payload": {"checkpoint_hash": DIGEST, "checkpoint_size": 3, "object_sha256": DIGEST, "store": "local"},
    "schema_version": 1,
    "stream": "Anchor:local",
    "trace_id": "t-1",
    "type": "anchor.written",
}
RECORD = record_bytes(
    content_bytes(CONTENT),
    position=7,
    stream_position=2,
    prev_hash=bytes(range(32)),
    recorded_at="2026-01-02T00:00:00.001Z",
)


def outcome(decode: Callable[[bytes], Any], data: bytes) -> Any:
    """What ``decode`` makes of ``data``: its value, or ``REJECTED`` (as every caller catches it)."""
    try:
        return decode(data)
    except (msgspec.MsgspecError, UnicodeDecodeError):
        return REJECTED


def two_step(data: bytes) -> tuple[object, ...]:
    """``decode_record`` then ``ContentKeys``: what the exact path of ``ledger.verify.chain`` reads."""
    record = decode_record(data)
    keys = decode_content_keys(record.event)
    ledger = record.ledger
    return (
        keys.event_id,
        keys.stream,
        ledger.position,
        ledger.prev_hash,
        ledger.recorded_at,
        ledger.stream_position,
        record.v,
    )


def bulk(data: bytes) -> tuple[object, ...]:
    """``BulkRecord``: what the bulk path of ``ledger.verify.chain`` reads."""
    record = decode_bulk_record(data)
    ledger = record.ledger
    return (
        record.event.event_id,
        record.event.stream,
        ledger.position,
        ledger.prev_hash,
        ledger.recorded_at,
        ledger.stream_position,
        record.v,
    )


def typed(data: bytes) -> tuple[object, ...]:
    """``TypedRecord``: the one-pass decode of ``ledger.reads.decode_event``."""
    record = decode_typed_record(data)
    return (record.event, record.ledger, record.v)


def typed_two_step(data: bytes) -> tuple[object, ...]:
    """``decode_record`` then ``decode_content``: the reference reading of a whole record."""
    record = decode_record(data)
    return (decode_content(record.event), record.ledger, record.v)


def replaced(old: bytes, new: bytes, data: bytes = RECORD) -> bytes:
    assert data.count(old) == 1, old
    return data.replace(old, new)


RECORD_CASES = {
    "valid": RECORD,
    "empty": b"",
    "truncated": RECORD[:-1],
    "cut in the content": RECORD[:40],
    "trailing garbage": RECORD + b"x",
    "trailing whitespace": RECORD + b"\n",
    "not an object": b"[1]",
    "extra top-level key": replaced(b',"v":1}', b',"v":1,"w":0}'),
    "extra ledger key": replaced(b'"position":7,', b'"position":7,"x":0,'),
    "ledger key missing": replaced(b'"recorded_at":"2026-01-02T00:00:00.001Z",', b""),
    "v missing": replaced(b',"v":1}', b"}"),
    "v as text": replaced(b'"v":1}', b'"v":"1"}'),
    "v as float": replaced(b'"v":1}', b'"v":1.5}'),
    "v null": replaced(b'"v":1}', b'"v":null}'),
    # A record version the code does not know is still an int: both read it, callers check it.
    "v 2": replaced(b'"v":1}', b'"v":2}'),
    "position as text": replaced(b'"position":7', b'"position":"7"'),
    "prev_hash as int": replaced(b'"prev_hash":"' + bytes(range(32)).hex().encode() + b'"', b'"prev_hash":0'),
    "event not an object": replaced(content_bytes(CONTENT), b"5"),
    "event without stream": replaced(b'"stream":"Anchor:local",', b""),
    "event_id as int": replaced(f'"event_id":"{EVENT_ID}"'.encode(), b'"event_id":1'),
    "stream null": replaced(b'"stream":"Anchor:local"', b'"stream":null'),
    # The content's other fields are not ContentKeys' to check, with or without BulkRecord.
    "event with an extra field": replaced(b'"actor":', b'"zzz":0,"actor":'),
    "invalid UTF-8 in an ignored field": replaced(b'"trace_id":"t-1"', b'"trace_id":"\xff"'),
    "invalid UTF-8 in the stream": replaced(b'"stream":"Anchor:local"', b'"stream":"\xff"'),
    "top-level key twice": replaced(b',"v":1}', b',"v":1,"v":1}'),
}


@pytest.mark.parametrize("data", RECORD_CASES.values(), ids=RECORD_CASES.keys())
def test_bulk_record_is_as_strict_as_decode_record_then_content_keys(data: bytes) -> None:
    assert outcome(bulk, data) == outcome(two_step, data)


@pytest.mark.parametrize("data", RECORD_CASES.values(), ids=RECORD_CASES.keys())
def test_typed_record_is_as_strict_as_decode_record_then_decode_content(data: bytes) -> None:
    assert outcome(typed, data) == outcome(typed_two_step, data)


def test_the_record_cases_cover_acceptance_and_rejection() -> None:
    outcomes = {name: outcome(bulk, data) == REJECTED for name, data in RECORD_CASES.items()}
    assert not outcomes["valid"]
    assert outcomes["truncated"]
    assert outcomes["extra top-level key"]
    assert outcomes["v as text"]
    assert outcomes["event without stream"]
    assert bulk(RECORD) == (
        EVENT_ID,
        "Anchor:local",
        7,
        bytes(range(32)).hex(),
        "2026-01-02T00:00:00.001Z",
        2,
        1,
    )


@SETTINGS
@given(st.data())
def test_bulk_record_agrees_with_decode_record_on_any_damage(data: st.DataObject) -> None:
    raw = bytearray(RECORD)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw)))
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        byte = data.draw(st.integers(0, 255))
        if kind == "flip" and at < len(raw):
            raw[at] = byte
        elif kind == "insert":
            raw.insert(at, byte)
        elif kind == "delete" and at < len(raw):
            del raw[at]
        elif kind == "truncate":
            del raw[at:]
    damaged = bytes(raw)
    assert outcome(bulk, damaged) == outcome(two_step, damaged)
    assert outcome(typed, damaged) == outcome(typed_two_step, damaged)


# --- content views: deliberately looser than decode_content ---------------------------------------

CONTENT_BYTES = content_bytes(CONTENT)
VIEWS: dict[str, tuple[Callable[[bytes], Any], Callable[[Any], object]]] = {
    "ContentKeys": (decode_content_keys, lambda v: (v.event_id, v.stream)),
    "ContentStream": (decode_content_stream, lambda v: v.stream),
    "ContentType": (decode_content_type, lambda v: v.type),
    "AnchorContentView": (
        decode_anchor_content,
        lambda v: (v.type, v.stream, v.payload.checkpoint_size, v.payload.checkpoint_hash, v.payload.store),
    ),
}
FROM_CONTENT: dict[str, Callable[[Any], object]] = {
    "ContentKeys": lambda c: (str(c.event_id), c.stream),
    "ContentStream": lambda c: c.stream,
    "ContentType": lambda c: c.type,
    "AnchorContentView": lambda c: (
        c.type,
        c.stream,
        c.payload["checkpoint_size"],
        c.payload["checkpoint_hash"],
        c.payload["store"],
    ),
}
# What every view still rejects, as decode_content does: bytes that are not one JSON object.
NOT_AN_OBJECT = {
    "empty": b"",
    "truncated": CONTENT_BYTES[:-1],
    "trailing garbage": CONTENT_BYTES + b"}",
    "a list": b"[]",
    "a string": b'"stream"',
}
# Each view's own fields, missing or of the wrong type, as decode_content rejects them too.
OWN_FIELD_FAULTS = {
    "ContentKeys": [{"event_id": 1}, {"stream": None}, {"stream": ...}],
    "ContentStream": [{"stream": 1}, {"stream": ...}],
    "ContentType": [{"type": []}, {"type": ...}],
    "AnchorContentView": [
        {"type": ...},
        {"stream": 2},
        {"payload": []},
    ],
}
# Stricter than decode_content, which keeps the payload an untyped dict (the catalogue types
# it at append): the anchor view rejects its payload fields missing or mistyped.
ANCHOR_PAYLOAD_FAULTS = {
    "checkpoint_size as text": {**CONTENT["payload"], "checkpoint_size": "3"},
    "store missing": {k: v for k, v in CONTENT["payload"].items() if k != "store"},
    "object_sha256 null": {**CONTENT["payload"], "object_sha256": None},
}


def with_fields(changes: dict[str, Any]) -> bytes:
    """The content with fields replaced, or dropped where the value is ``...``."""
    out = {k: v for k, v in CONTENT.items() if changes.get(k) is not ...}
    out |= {k: v for k, v in changes.items() if v is not ...}
    return content_bytes(out)


@pytest.mark.parametrize("view", VIEWS)
def test_a_content_view_reads_what_decode_content_reads(view: str) -> None:
    decode, fields = VIEWS[view]
    assert fields(decode(CONTENT_BYTES)) == FROM_CONTENT[view](decode_content(CONTENT_BYTES))


@pytest.mark.parametrize("data", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
@pytest.mark.parametrize("view", VIEWS)
def test_a_content_view_rejects_what_is_no_json_object(view: str, data: bytes) -> None:
    assert outcome(decode_content, data) == REJECTED
    assert outcome(VIEWS[view][0], data) == REJECTED


@pytest.mark.parametrize(
    ("view", "changes"), [(view, c) for view, cs in OWN_FIELD_FAULTS.items() for c in cs], ids=repr
)
def test_a_content_view_rejects_its_own_fields_missing_or_mistyped(
    view: str, changes: dict[str, Any]
) -> None:
    data = with_fields(changes)
    assert outcome(decode_content, data) == REJECTED
    assert outcome(VIEWS[view][0], data) == REJECTED


@pytest.mark.parametrize("payload", ANCHOR_PAYLOAD_FAULTS.values(), ids=ANCHOR_PAYLOAD_FAULTS.keys())
def test_the_anchor_view_rejects_its_payload_fields_missing_or_mistyped(payload: dict[str, Any]) -> None:
    data = with_fields({"payload": payload})
    assert outcome(decode_content, data) != REJECTED
    assert outcome(decode_anchor_content, data) == REJECTED


@pytest.mark.parametrize("view", VIEWS)
def test_a_content_view_ignores_the_fields_it_does_not_name(view: str) -> None:
    # Deliberately looser: decode_content rejects an unknown field and a missing actor,
    # a view reads past both, because they are not what its reader checks.
    data = with_fields({"actor": ..., "unknown": 1})
    assert outcome(decode_content, data) == REJECTED
    decode, fields = VIEWS[view]
    assert fields(decode(data)) == fields(decode(CONTENT_BYTES))
