"""The EventStore / Ledger contract, run against every backend (``backend`` fixture param)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

import msgspec
import pytest

from ledger.application import Ledger
from ledger.chain import GENESIS, Head, StoredColumns, event_hash, stream_id
from ledger.encoding import decode_content, decode_record
from ledger.errors import ConflictError, NotFoundError, ValidationError
from ledger.event import Receipt
from ledger.ports import EventStore, FieldCipher
from ledger.verify import iter_columns, iter_store, verify_log
from tests.conftest import FixedClock
from tests.factories import Events, bonus_config

StoreFactory = Callable[[], EventStore]
CipherFactory = Callable[[], FieldCipher]


def heads_of(store: EventStore) -> dict[str, Head]:
    return dict(store.heads())


def verify(store: EventStore) -> int:
    return verify_log(iter_store(store.read), store.heads()).events


def undup(receipts: Sequence[Receipt]) -> list[Receipt]:
    return [msgspec.structs.replace(r, duplicate=False) for r in receipts]


def test_append_one_gets_first_positions(ledger: Ledger) -> None:
    event = Events().feature_flag("checkout-v2")
    [receipt] = ledger.append([event])

    assert (receipt.position, receipt.stream_position) == (0, 0)
    assert receipt.stream == "FeatureFlag:checkout-v2"
    assert str(receipt.event_id) == event["event_id"]
    assert receipt.recorded_at == "2026-01-01T00:00:00.001Z"
    assert not receipt.duplicate
    assert ledger.store.size() == 1


def test_append_batch_gets_dense_global_and_stream_positions(ledger: Ledger) -> None:
    ev = Events()
    ledger.append([ev.feature_flag("a")])
    batch = [
        ev.bonus_rule("r1"),
        ev.feature_flag("a"),
        ev.bonus_rule("r1", changed=True),
        ev.limit("l1"),
        ev.feature_flag("a", enabled=False),
        ev.bonus_rule("r2"),
    ]

    receipts = ledger.append(batch)

    assert [r.position for r in receipts] == [1, 2, 3, 4, 5, 6]
    assert [(r.stream, r.stream_position) for r in receipts] == [
        ("BonusRule:r1", 0),
        ("FeatureFlag:a", 1),
        ("BonusRule:r1", 1),
        ("Limit:l1", 0),
        ("FeatureFlag:a", 2),
        ("BonusRule:r2", 0),
    ]
    assert [str(r.event_id) for r in receipts] == [e["event_id"] for e in batch]
    assert len({r.recorded_at for r in receipts}) == 1
    assert ledger.store.size() == 7
    assert heads_of(ledger.store)["FeatureFlag:a"] == Head(2, bytes.fromhex(receipts[4].hash), 5)


def test_receipt_hash_is_the_chain_hash_of_the_stored_bytes(ledger: Ledger) -> None:
    ev = Events()
    receipts = ledger.append([ev.bonus_rule("r1"), ev.limit("l1"), ev.bonus_rule("r1", changed=True)])
    receipts += ledger.append([ev.bonus_rule("r1", changed=True)])

    last: dict[str, str] = {}
    for r in receipts:
        stored = ledger.store.get(str(r.event_id))
        assert stored is not None
        record = decode_record(stored.data)
        prev = bytes.fromhex(record.ledger.prev_hash)
        assert prev == (bytes.fromhex(last[r.stream]) if r.stream in last else GENESIS)
        assert r.hash == event_hash(prev, stored.data).hex()
        assert (record.ledger.position, record.ledger.stream_position) == (r.position, r.stream_position)
        assert record.ledger.recorded_at == r.recorded_at
        assert (stored.position, stored.stream_position, stored.event_id) == (
            r.position,
            r.stream_position,
            r.event_id,
        )
        last[r.stream] = r.hash


def test_history_returns_events_in_order_with_payload_round_tripped(ledger: Ledger) -> None:
    ev = Events()
    created = ev.bonus_rule(
        "r1",
        config=bonus_config(
            valid_from="2026-02-01T10:00:00.123456Z", valid_until="2026-03-01T12:00:00+02:00"
        ),
        occurred_at="2026-01-01T00:00:00.123999Z",
    )
    changed = ev.bonus_rule("r1", changed=True, config=bonus_config(wagering_multiplier=40))
    other = ev.feature_flag("f1")
    receipts = ledger.append([created, other, changed])

    history = ledger.history("BonusRule:r1")

    assert [h.event_id for h in history] == [created["event_id"], changed["event_id"]]
    assert [h.stream_position for h in history] == [0, 1]
    assert [h.hash for h in history] == [receipts[0].hash, receipts[2].hash]
    assert history[1].prev_hash == receipts[0].hash
    first = history[0]
    assert first.occurred_at == "2026-01-01T00:00:00.123Z"
    assert first.payload["config"]["valid_from"] == "2026-02-01T10:00:00.123Z"
    assert first.payload["config"]["valid_until"] == "2026-03-01T10:00:00.000Z"
    assert first.payload["config"]["eligible_games"] == ["starburst", "book-of-dead"]
    assert first.payload["config"]["match_percent"] == "100"
    assert first.payload["reason"] == "quarterly promotion review"
    assert first.payload["config"]["max_bonus"] is None
    assert (first.type, first.schema_version, first.stored_schema_version) == ("bonus_rule.created", 1, 1)
    assert first.actor == {"kind": "operator", "id": "op-1"}
    assert (first.trace_id, first.jurisdiction) == (created["trace_id"], "MT")
    assert history[1].payload["config"]["wagering_multiplier"] == 40
    assert ledger.history("BonusRule:unknown") == []
    assert [h.event_id for h in ledger.history("BonusRule:r1", start=1)] == [changed["event_id"]]


def test_money_is_stored_at_the_currency_scale(ledger: Ledger) -> None:
    ev = Events()
    ledger.append([ev.limit("l1", value={"amount": "10", "currency": "EUR"})])

    [event] = ledger.history("Limit:l1")

    assert event.payload["value"] == {"amount": "10.00", "currency": "EUR"}
    stored = ledger.store.read(0, 1)[0].data
    assert b'"value":{"amount":"10.00","currency":"EUR"}' in stored


def test_repeating_a_batch_returns_the_original_receipts_and_writes_nothing(ledger: Ledger) -> None:
    ev = Events()
    batch = [ev.bonus_rule("r1"), ev.feature_flag("f1"), ev.bonus_rule("r1", changed=True)]
    first = ledger.append(batch)
    size, heads = ledger.store.size(), heads_of(ledger.store)

    again = ledger.append(batch)

    assert all(r.duplicate for r in again)
    assert undup(again) == first
    assert ledger.store.size() == size
    assert heads_of(ledger.store) == heads
    fresh = ev.feature_flag("f1", enabled=False)
    mixed = ledger.append([batch[1], fresh])
    assert [r.duplicate for r in mixed] == [True, False]
    assert (mixed[1].position, mixed[1].stream_position) == (3, 1)


def test_same_event_id_with_other_content_conflicts_and_the_batch_writes_nothing(ledger: Ledger) -> None:
    ev = Events()
    original = ev.feature_flag("f1")
    ledger.append([original])
    size, heads = ledger.store.size(), heads_of(ledger.store)
    before, reused, after = ev.bonus_rule("r1"), {**original, "trace_id": "f" * 32}, ev.feature_flag("f1")

    with pytest.raises(ConflictError) as err:
        ledger.append([before, reused, after])

    assert err.value.field == "events[1].event_id"
    assert ledger.store.size() == size
    assert heads_of(ledger.store) == heads
    assert ledger.store.get(before["event_id"]) is None
    assert ledger.store.get(after["event_id"]) is None
    assert [h.event_id for h in ledger.history("FeatureFlag:f1")] == [original["event_id"]]


def test_expected_stream_position_is_an_append_condition(ledger: Ledger) -> None:
    ev = Events()
    ledger.append([ev.bonus_rule("r1", expected_stream_position=0)])
    ledger.append(
        [
            ev.bonus_rule("r1", changed=True, expected_stream_position=1),
            ev.bonus_rule("r1", changed=True, expected_stream_position=2),
        ]
    )
    size = ledger.store.size()

    with pytest.raises(ConflictError) as err:
        ledger.append([ev.feature_flag("f1"), ev.bonus_rule("r1", changed=True, expected_stream_position=1)])

    assert err.value.field == "events[1].expected_stream_position"
    assert ledger.store.size() == size
    assert ledger.history("FeatureFlag:f1") == []
    with pytest.raises(ConflictError):
        ledger.append([ev.bonus_rule("r2", expected_stream_position=1)])
    [ok] = ledger.append([ev.bonus_rule("r1", changed=True, expected_stream_position=3)])
    assert (ok.position, ok.stream_position) == (3, 3)


def test_append_all_stops_at_the_first_failing_batch_and_writes_nothing_after_it(ledger: Ledger) -> None:
    ev = Events()
    original = ev.feature_flag("f1")
    ledger.append([original])
    first = [ev.bonus_rule("r1"), ev.bonus_rule("r2")]
    failing = [ev.feature_flag("f2"), {**original, "trace_id": "f" * 32}]
    later = [ev.feature_flag("f3")]
    got: list[list[Receipt]] = []

    with pytest.raises(ConflictError) as err:
        got.extend(ledger.append_all([first, failing, later]))

    assert err.value.field == "events[1].event_id"
    assert [[r.event_id for r in receipts] for receipts in got] == [[UUID(e["event_id"]) for e in first]]
    assert ledger.store.size() == 3
    assert ledger.history("FeatureFlag:f2") == []
    assert ledger.history("FeatureFlag:f3") == []
    assert verify(ledger.store) == 3


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"rollout": 101}, "events[3].payload.rollout_percent"),
        ({"enabled": "yes"}, "events[3].payload.enabled"),
        ({"jurisdiction": "Malta"}, "events[3].jurisdiction"),
    ],
)
def test_an_invalid_event_names_its_field_and_nothing_is_written(
    ledger: Ledger, overrides: Mapping[str, Any], field: str
) -> None:
    ev = Events()
    batch = [
        ev.feature_flag("f1"),
        ev.bonus_rule("r1"),
        ev.limit("l1"),
        ev.feature_flag("f2", **overrides),
        ev.feature_flag("f3"),
    ]

    with pytest.raises(ValidationError) as err:
        ledger.append(batch)

    assert err.value.field == field
    assert ledger.store.size() == 0
    assert list(ledger.store.heads()) == []


def test_a_nested_invalid_payload_field_is_named(ledger: Ledger) -> None:
    ev = Events()
    bad_game = ev.bonus_rule("r1", config=bonus_config(eligible_games=["ok", "no spaces allowed"]))

    with pytest.raises(ValidationError) as err:
        ledger.append([ev.feature_flag("f1"), ev.feature_flag("f2"), ev.feature_flag("f3"), bad_game])

    assert err.value.field == "events[3].payload.config.eligible_games[1]"
    assert ledger.store.size() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"type": "feature_flag.exploded"}, "events[0].type"),
        ({"schema_version": 7}, "events[0].schema_version"),
        ({"stream": "Limit:f1"}, "events[0].stream"),
        ({"trace_id": "not-a-trace"}, "events[0].trace_id"),
        ({"occurred_at": "2026-01-01T00:00:00"}, "events[0].occurred_at"),
        # A trailing newline would otherwise pass a `^…$` pattern and name another stream.
        ({"stream": "FeatureFlag:f1\n"}, "events[0].stream"),
        ({"trace_id": "0" * 32 + "\n"}, "events[0].trace_id"),
        ({"jurisdiction": "MT\n"}, "events[0].jurisdiction"),
    ],
)
def test_envelope_errors_name_the_field(ledger: Ledger, overrides: Mapping[str, Any], field: str) -> None:
    ev = Events()

    with pytest.raises(ValidationError) as err:
        ledger.append([ev.feature_flag("f1", **overrides)])

    assert err.value.field == field
    assert ledger.store.size() == 0


def test_get_returns_the_event_or_not_found(ledger: Ledger) -> None:
    ev = Events()
    event = ev.limit("l1", count=3)
    [receipt] = ledger.append([ev.feature_flag("f1"), event])[1:]

    found = ledger.get(event["event_id"])

    assert (found.event_id, found.position, found.hash) == (event["event_id"], 1, receipt.hash)
    assert found.payload["count"] == 3
    with pytest.raises(NotFoundError) as err:
        ledger.get(ev.next_id())
    assert err.value.field == "event_id"
    assert ledger.store.get(ev.next_id()) is None


def test_a_reopened_store_sees_the_data_and_continues_the_chains(
    ledger: Ledger, make_store: StoreFactory, make_cipher: CipherFactory
) -> None:
    ev = Events()
    first = ledger.append([ev.bonus_rule("r1"), ev.feature_flag("f1"), ev.bonus_rule("r1", changed=True)])
    cipher = make_cipher()
    reopened = Ledger(make_store(), cipher, FixedClock(1_800_000_000_000), group_commit=False)
    try:
        assert reopened.history("BonusRule:r1") == ledger.history("BonusRule:r1")
        assert reopened.store.size() == 3

        [nxt] = reopened.append([ev.bonus_rule("r1", changed=True)])

        assert (nxt.position, nxt.stream_position) == (3, 2)
        assert reopened.history("BonusRule:r1")[-1].prev_hash == first[2].hash
        assert verify(reopened.store) == 4
        assert [h.event_id for h in ledger.history("BonusRule:r1")][-1] == str(nxt.event_id)
    finally:
        cipher.close()


def test_read_pages_through_global_positions(ledger: Ledger) -> None:
    ev = Events()
    receipts = ledger.append([ev.feature_flag(f"f{i % 3}") for i in range(10)])

    pages = [ledger.read(start, 3) for start in range(0, 12, 3)]

    assert [[e.position for e in page] for page in pages] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert [e.hash for page in pages for e in page] == [r.hash for r in receipts]
    assert [e.position for e in ledger.read(4, 2)] == [4, 5]
    assert ledger.read(10, 5) == []
    assert [s.position for s in ledger.store.read(7, 100)] == [7, 8, 9]


def test_read_columns_is_read_column_by_column_with_hex_ids(ledger: Ledger) -> None:
    ev = Events()
    events = [ev.feature_flag(f"f{i % 3}") for i in range(10)]
    ledger.append(events)
    store = ledger.store

    for start, limit in [(0, 100), (3, 4), (9, 5), (10, 5), (0, 0)]:
        assert store.read_columns(start, limit) == StoredColumns.of_records(store.read(start, limit))
    columns = store.read_columns(0, 100)
    assert columns.positions == list(range(10))
    assert columns.event_ids == [UUID(e["event_id"]).hex for e in events]
    assert columns.stream_ids == [stream_id(e["stream"]).hex for e in events]
    assert columns.stream_positions == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert [c.positions for c in iter_columns(store.read_columns, chunk=4)] == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]
    assert verify_log(iter_columns(store.read_columns, chunk=4), store.heads()).events == 10


@pytest.mark.parametrize(("status", "tier"), [("pass", "basic"), ("fail", "unverified")])
def test_kyc_decided_v1_is_read_back_as_v2(ledger: Ledger, status: str, tier: str) -> None:
    ev = Events()
    v1 = ev.kyc_decided("plr-1", version=1, status=status)
    ledger.append([v1])

    event = ledger.get(v1["event_id"])

    assert (event.schema_version, event.stored_schema_version) == (2, 1)
    assert event.payload == {
        "player_ref": "plr-1",
        "check_id": "chk-plr-1",
        "kyc_status": status,
        "reason": None,
        "policy_version": "unversioned-pre-v2",
        "tier": tier,
        "decided_by": "automatic",
    }
    stored = ledger.store.get(v1["event_id"])
    assert stored is not None
    assert decode_content(decode_record(stored.data).event).schema_version == 1


def test_group_commit_under_16_threads_never_forks_a_stream(ledger: Ledger) -> None:
    threads, per_thread, streams = 16, 50, ["a", "b", "c", "d"]
    factories = [Events(seed=t + 1) for t in range(threads)]
    results: dict[int, list[Receipt]] = defaultdict(list)
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                results[t] += ledger.append([factories[t].feature_flag(streams[(t + i) % 4], rollout=i)])
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    assert errors == []
    receipts = [r for t in range(threads) for r in results[t]]
    assert len(receipts) == threads * per_thread
    assert len(set(receipts)) == threads * per_thread
    assert not any(r.duplicate for r in receipts)
    assert sorted(r.position for r in receipts) == list(range(threads * per_thread))
    for t in range(threads):
        assert [r.position for r in results[t]] == sorted(r.position for r in results[t])
    per_stream: dict[str, list[int]] = defaultdict(list)
    for r in receipts:
        per_stream[r.stream].append(r.stream_position)
    for stream, positions in per_stream.items():
        assert sorted(positions) == list(range(len(positions))), stream
        history = ledger.history(stream)
        assert [h.prev_hash for h in history[1:]] == [h.hash for h in history[:-1]]
    assert verify(ledger.store) == threads * per_thread
    assert ledger.store.size() == threads * per_thread
