"""The synthetic operator history: complete, deterministic, and internally consistent."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from infra.demo import demo_events, demo_ndjson
from ledger.catalogue import CATALOGUE
from ledger.catalogue.types import CURRENCY_SCALE

Event = dict[str, Any]
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return list(demo_events(20_000))


def _by_stream(events: list[Event], prefix: str) -> dict[str, list[Event]]:
    streams: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event["stream"].startswith(prefix):
            streams[event["stream"]].append(event)
    return streams


def _money(value: object) -> Iterator[dict[str, str]]:
    if isinstance(value, dict):
        if value.keys() == {"amount", "currency"}:
            yield value
        else:
            for child in value.values():
                yield from _money(child)
    elif isinstance(value, list):
        for child in value:
            yield from _money(child)


# Written by the ledger itself (the sealer), never by a producer.
LEDGER_OWN_TYPES = {"anchor.written", "access.recorded"}


def test_the_first_5000_events_cover_every_producer_type_and_version(events: list[Event]) -> None:
    seen = {(e["type"], e["schema_version"]) for e in events[:5000]}
    producer_types = {(t.name, t.version) for t in CATALOGUE if t.name not in LEDGER_OWN_TYPES}
    assert producer_types - seen == set()
    assert not {e["type"] for e in events} & LEDGER_OWN_TYPES


@pytest.mark.parametrize("count", [0, 1, 2, 4_321])
def test_exactly_count_events_are_yielded(count: int) -> None:
    assert sum(1 for _ in demo_events(count)) == count


def test_a_negative_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="count"):
        demo_events(-1)


def test_the_same_seed_gives_byte_identical_output_and_another_seed_differs() -> None:
    first = b"".join(demo_ndjson(3000, seed=11))
    assert first == b"".join(demo_ndjson(3000, seed=11))
    assert first != b"".join(demo_ndjson(3000, seed=12))


def test_ndjson_lines_are_the_events(events: list[Event]) -> None:
    lines = list(demo_ndjson(500))
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    assert [msgspec.json.decode(line) for line in lines] == events[:500]


def test_event_ids_are_unique_random_uuids(events: list[Event]) -> None:
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert all(_UUID4.match(i) for i in ids)


def test_every_stream_is_in_strictly_increasing_time(events: list[Event]) -> None:
    times = [e["occurred_at"] for e in events]
    assert times == sorted(times)
    for stream in _by_stream(events, "").values():
        stamps = [e["occurred_at"] for e in stream]
        assert all(a < b for a, b in itertools.pairwise(stamps)), stream[0]["stream"]


def test_each_wallet_is_an_exact_balance_chain(events: list[Event]) -> None:
    wallets = _by_stream(events, "Wallet:")
    assert len(wallets) > 10
    for stream in wallets.values():
        balance = Decimal(0)
        for event in stream:
            p = event["payload"]
            before, amount, after = (
                Decimal(p[k]["amount"]) for k in ("balance_before", "amount", "balance_after")
            )
            sign = 1 if event["type"] == "wallet.credited" else -1
            assert before == balance, event
            assert after == before + sign * amount, event
            balance = after


def test_money_strings_carry_exactly_their_currency_scale(events: list[Event]) -> None:
    amounts = [m for e in events for m in _money(e["payload"])]
    assert {m["currency"] for m in amounts} >= {"EUR", "GBP", "DKK"}
    for money in amounts:
        scale = CURRENCY_SCALE[money["currency"]]
        assert re.fullmatch(rf"-?\d+\.\d{{{scale}}}", money["amount"]), money


def test_round_steps_are_dense_from_zero_and_end_settled(events: list[Event]) -> None:
    rounds = _by_stream(events, "Round:")
    settled = [s for s in rounds.values() if s[-1]["type"] == "round.settled"]
    assert len(settled) > 100
    for stream in settled:
        assert [e["payload"]["step"] for e in stream] == list(range(len(stream)))
        assert stream[0]["type"] == "round.started"


def test_a_jackpot_payout_links_to_its_trigger_and_the_winning_outcome(events: list[Event]) -> None:
    by_id = {e["event_id"]: e for e in events}
    paid = [e for e in events if e["type"] == "jackpot.paid"]
    assert paid
    for payout in paid:
        trigger = by_id[payout["payload"]["trigger_event_id"]]
        assert trigger["type"] == "jackpot.triggered"
        assert trigger["stream"] == payout["stream"]
        assert trigger["payload"]["amount"] == payout["payload"]["amount"]
        outcome = by_id[trigger["payload"]["trigger_event_id"]]
        assert outcome["type"] == "round.outcome_determined"
        assert outcome["payload"]["jackpot_hit"] is True
        assert outcome["payload"]["round_id"] == payout["payload"]["round_id"]
        credit = next(e for e in events if e["payload"].get("reference") == payout["payload"]["payout_tx_id"])
        assert (credit["type"], credit["payload"]["amount"]) == (
            "wallet.credited",
            payout["payload"]["amount"],
        )


def test_kyc_decisions_come_from_both_producer_versions(events: list[Event]) -> None:
    versions = [e["schema_version"] for e in events if e["type"] == "kyc.decided"]
    assert 0 < versions.count(1) < versions.count(2)
