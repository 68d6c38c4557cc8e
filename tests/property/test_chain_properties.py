"""Properties of the chain, the verifier and the canonical encoding (hypothesis)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.catalogue.types import CURRENCY_SCALE, Money, Timestamp, quantize_amount
from ledger.chain import Head, Linker, Pending, Row, StoredRecord, stream_id
from ledger.encoding import canonical, content_bytes, decode_content, decode_record, record_bytes
from ledger.errors import ChainError
from ledger.verify import verify_log

STREAMS = ("BonusRule:r1", "BonusRule:r2", "FeatureFlag:f1", "Limit:l1")
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
json_scalar = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | json_text
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_text, inner, max_size=4),
    max_leaves=12,
)
payloads = st.dictionaries(json_text, json_value, max_size=5)


def content(n: int, stream: str, payload: dict[str, Any]) -> bytes:
    return content_bytes(
        {
            "actor": {"id": "op-1", "kind": "operator"},
            "event_id": str(UUID(int=n)),
            "jurisdiction": "MT",
            "occurred_at": "2026-01-01T00:00:00.000Z",
            "payload": payload,
            "schema_version": 1,
            "stream": stream,
            "trace_id": f"{n:032x}",
            "type": "test.recorded",
        }
    )


@dataclasses.dataclass
class Log:
    records: list[StoredRecord]
    heads: dict[str, Head]


# A log is built by several append calls; each call is a list of batches; each batch a list of
# (stream index, payload) events.
appends = st.lists(
    st.lists(
        st.lists(st.tuples(st.integers(0, len(STREAMS) - 1), payloads), min_size=1, max_size=4),
        min_size=1,
        max_size=3,
    ),
    min_size=1,
    max_size=4,
)


def build(calls: Sequence[Sequence[Sequence[tuple[int, dict[str, Any]]]]]) -> Log:
    """Link every call with a fresh Linker fed the positions and heads the previous ones left."""
    rows: list[Row] = []
    heads: dict[str, Head] = {}
    n = 0
    for i, call in enumerate(calls):
        batches = []
        for batch in call:
            pending = []
            for s, payload in batch:
                n += 1
                pending.append(
                    Pending(
                        UUID(int=n),
                        STREAMS[s],
                        "test.recorded",
                        content(n, STREAMS[s], payload),
                        f"2026-01-01T00:00:{i:02d}.000Z",
                    )
                )
            batches.append(pending)
        linked = Linker(len(rows), heads, {}).link(batches)
        assert all(isinstance(o, list) for o in linked.outcomes)
        rows += linked.rows
        heads.update(linked.heads)
    records = [
        StoredRecord(r.position, stream_id(r.stream), r.stream_position, r.event_id, r.data) for r in rows
    ]
    return Log(records, heads)


def assert_detected(records: Sequence[StoredRecord], heads: dict[str, Head]) -> ChainError:
    with pytest.raises(ChainError) as err:
        verify_log(records, heads.items())
    return err.value


@SETTINGS
@given(appends)
def test_linked_logs_verify(calls: list[list[list[tuple[int, dict[str, Any]]]]]) -> None:
    log = build(calls)

    report = verify_log(log.records, log.heads.items())

    assert report.events == len(log.records) == sum(len(b) for c in calls for b in c)
    assert [r.position for r in log.records] == list(range(len(log.records)))
    assert report.streams == len(log.heads)


@SETTINGS
@given(appends, st.data())
def test_any_byte_flip_is_detected(
    calls: list[list[list[tuple[int, dict[str, Any]]]]], data: st.DataObject
) -> None:
    log = build(calls)
    i = data.draw(st.integers(0, len(log.records) - 1), label="record")
    record = log.records[i]
    at = data.draw(st.integers(0, len(record.data) - 1), label="byte")
    mask = data.draw(st.integers(1, 255), label="mask")
    flipped = bytearray(record.data)
    flipped[at] ^= mask
    log.records[i] = dataclasses.replace(record, data=bytes(flipped))

    err = assert_detected(log.records, log.heads)

    assert err.position is None or err.position >= i


@pytest.mark.parametrize("marker", [b'{"', b'"prev_hash":"', b'"recorded_at":"', b'"stream":"'])
def test_a_flip_into_invalid_utf8_is_a_located_chain_error(marker: bytes) -> None:
    log = build([[[(0, {"note": "x"}), (0, {})]]])
    first = log.records[0]
    flipped = bytearray(first.data)
    flipped[first.data.index(marker) + len(marker)] ^= 0x80  # the next byte: a key's or a value's first
    log.records[0] = dataclasses.replace(first, data=bytes(flipped))

    err = assert_detected(log.records, log.heads)

    assert err.position == 0


@SETTINGS
@given(appends, st.data())
def test_a_dropped_record_is_detected(
    calls: list[list[list[tuple[int, dict[str, Any]]]]], data: st.DataObject
) -> None:
    log = build(calls)
    i = data.draw(st.integers(0, len(log.records) - 1), label="dropped")
    del log.records[i]

    assert_detected(log.records, log.heads)


@SETTINGS
@given(appends, st.data())
def test_a_duplicated_record_is_detected(
    calls: list[list[list[tuple[int, dict[str, Any]]]]], data: st.DataObject
) -> None:
    log = build(calls)
    i = data.draw(st.integers(0, len(log.records) - 1), label="copied")
    j = data.draw(st.integers(0, len(log.records)), label="inserted at")
    log.records.insert(j, log.records[i])

    err = assert_detected(log.records, log.heads)

    assert err.position == (i + 1 if j == i else j)


@SETTINGS
@given(appends, st.data())
def test_swapped_records_are_detected(
    calls: list[list[list[tuple[int, dict[str, Any]]]]], data: st.DataObject
) -> None:
    log = build(calls)
    i = data.draw(st.integers(0, len(log.records) - 1), label="first")
    others = [k for k in range(len(log.records)) if log.records[k].data != log.records[i].data]
    if not others:
        return
    j = data.draw(st.sampled_from(others), label="second")
    columns_too = data.draw(st.booleans(), label="swap whole rows")
    a, b = log.records[i], log.records[j]
    if columns_too:
        log.records[i], log.records[j] = b, a
    else:
        log.records[i], log.records[j] = (
            dataclasses.replace(a, data=b.data),
            dataclasses.replace(b, data=a.data),
        )

    err = assert_detected(log.records, log.heads)

    assert err.position == min(i, j)


@SETTINGS
@given(appends, st.data())
def test_truncating_a_stream_is_detected(
    calls: list[list[list[tuple[int, dict[str, Any]]]]], data: st.DataObject
) -> None:
    log = build(calls)
    stream = data.draw(st.sampled_from(sorted(log.heads)), label="stream")
    head = log.heads[stream]
    del log.records[head.position]

    err = assert_detected(log.records, log.heads)

    if head.position == len(log.records):
        assert err.stream == stream
    else:
        assert err.position == head.position


@SETTINGS
@given(appends)
def test_record_bytes_are_canonical(calls: list[list[list[tuple[int, dict[str, Any]]]]]) -> None:
    for r in build(calls).records:
        record = decode_record(r.data)
        assert msgspec.json.encode(record, order="sorted") == r.data
        assert canonical(msgspec.json.decode(r.data)) == r.data
        assert (
            json.dumps(json.loads(r.data), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            == r.data
        )
        rebuilt = record_bytes(
            bytes(record.event),
            position=record.ledger.position,
            stream_position=record.ledger.stream_position,
            prev_hash=bytes.fromhex(record.ledger.prev_hash),
            recorded_at=record.ledger.recorded_at,
        )
        assert rebuilt == r.data
        assert content_bytes(msgspec.json.decode(bytes(record.event))) == bytes(record.event)
        assert decode_content(bytes(record.event)).stream in STREAMS


@SETTINGS
@given(json_value)
def test_canonical_json_is_sorted_compact_utf8_and_stable(value: Any) -> None:
    encoded = canonical(value)

    assert encoded == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical(msgspec.json.decode(encoded)) == encoded


@SETTINGS
@given(st.sampled_from(sorted(CURRENCY_SCALE)), st.integers(-(10**15), 10**15), st.data())
def test_money_within_scale_round_trips_at_exactly_the_scale(
    currency: str, units: int, data: st.DataObject
) -> None:
    scale = CURRENCY_SCALE[currency]
    places = data.draw(st.integers(-3, scale), label="decimal places")
    amount = Decimal(units).scaleb(-places)

    encoded = msgspec.json.decode(canonical(Money(amount, currency)))

    assert encoded["currency"] == currency
    text = encoded["amount"]
    assert Decimal(text) == amount
    assert text == f"{amount:.{scale}f}"
    assert len(text.partition(".")[2]) == scale
    assert msgspec.convert(encoded, Money) == Money(amount, currency)


@SETTINGS
@given(st.sampled_from(sorted(CURRENCY_SCALE)), st.integers(-(10**12), 10**12), st.integers(1, 4), st.data())
def test_money_beyond_scale_is_refused_unless_the_extra_digits_are_zeros(
    currency: str, units: int, extra: int, data: st.DataObject
) -> None:
    scale = CURRENCY_SCALE[currency]
    last = data.draw(st.integers(1, 9), label="last digit")
    too_precise = Decimal(units * 10 + last).scaleb(-(scale + extra))
    padded = Decimal(units * 10**extra).scaleb(-(scale + extra))

    with pytest.raises(ValueError, match="decimal places"):
        quantize_amount(too_precise, currency)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"amount": str(too_precise), "currency": currency}, Money)
    assert Money(padded, currency).amount == padded
    assert str(Money(padded, currency).amount) == f"{padded:.{scale}f}"


utc_offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
# hypothesis takes naive bounds and attaches the drawn time zone itself
EARLIEST = dt.datetime(1970, 1, 2)  # noqa: DTZ001
LATEST = dt.datetime(2999, 12, 30)  # noqa: DTZ001


@SETTINGS
@given(st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=utc_offsets))
def test_timestamps_are_utc_and_truncated_to_milliseconds(value: dt.datetime) -> None:
    ts = Timestamp.of(value)
    text = ts.canonical()

    assert len(text) == len("2026-01-01T00:00:00.000Z")
    assert text.endswith("Z")
    assert ts.utcoffset() == dt.timedelta(0)
    assert dt.timedelta(0) <= value - ts < dt.timedelta(milliseconds=1)
    assert Timestamp.parse(text) == ts
    assert Timestamp.parse(text).canonical() == text
