"""The one envelope decoder (HTTP bodies and NDJSON lines): strict, one pass, fields named."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from ledger.application import decode_envelopes, decode_events
from ledger.errors import ValidationError
from ledger.event import EventIn
from tests.factories import Events


def _event(**changes: Any) -> dict[str, Any]:
    return Events(seed=31).feature_flag("decode") | changes


def _field(data: bytes, index: int | None = None) -> str | None:
    with pytest.raises(ValidationError) as e:
        decode_envelopes(data, index=index)
    return e.value.field


def test_a_body_is_one_envelope_or_an_array_of_them() -> None:
    one = msgspec.json.encode(_event())
    assert [type(e) for e in decode_envelopes(one)] == [EventIn]
    assert len(decode_envelopes(msgspec.json.encode([_event(), _event()]))) == 2
    assert decode_envelopes(one) == decode_envelopes(one, index=0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"schema_version": "1"}, "schema_version"),
        ({"schema_version": 1.0}, "schema_version"),
        ({"schema_version": True}, "schema_version"),
        ({"expected_stream_position": "0"}, "expected_stream_position"),
        ({"jurisdiction": 356}, "jurisdiction"),
    ],
)
def test_nothing_is_coerced(change: dict[str, Any], field: str) -> None:
    bad = _event(**change)
    assert _field(msgspec.json.encode(bad)) == f"events[0].{field}"
    assert _field(msgspec.json.encode([_event(), bad])) == f"events[1].{field}"
    assert _field(msgspec.json.encode(bad), index=7) == f"events[7].{field}"


def test_the_body_shape_is_named_events_and_a_line_its_index() -> None:
    assert _field(b'"hello"') == "events"
    assert _field(msgspec.json.encode(_event(colour="red"))) == "events"
    assert _field(msgspec.json.encode([_event(colour="red")])) == "events[0]"
    assert _field(b"[]", index=3) == "events[3]"


@pytest.mark.parametrize(
    "data",
    [
        b"{",
        b"\xff",
        msgspec.json.encode(_event()) + b" x",
        msgspec.json.encode(_event()).replace(b"feature_flag.changed", b"feature_flag.\xc3\x28"),
    ],
)
def test_bytes_that_are_not_json_are_a_decode_error(data: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_envelopes(data)
    with pytest.raises(ValidationError) as e:
        decode_events([msgspec.json.encode(_event()), data])
    assert e.value.field == "line 2"
