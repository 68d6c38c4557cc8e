"""Round reconstruction against the raw log, and its consistency flags, on both stores."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from ledger.event import ReadEvent
from projections.rounds import reconstruct_round
from tests.factories import Events
from tests.projections.support import RunnerFactory, load_demo, make_runner, make_views

__all__ = ["make_runner", "make_views"]
HASH = "ab" * 32


def _raw_rounds(ledger: Ledger, size: int) -> dict[str, list[ReadEvent]]:
    rounds: dict[str, list[ReadEvent]] = defaultdict(list)
    for start in range(0, size, 1000):
        for e in ledger.read(start, 1000):
            if e.type.startswith(("round.", "jackpot.")):
                rounds[e.payload["round_id"]].append(e)
    return rounds


def _expected_flags(events: list[ReadEvent]) -> list[str]:
    flags, last = set(), None
    for e in events:
        if e.type in {"round.bet_placed", "round.win_recorded", "round.rolled_back"}:
            if last is not None and e.payload["balance_before"] != last:
                flags.add("balance_chain_broken")
            last = e.payload["balance_after"]
    return sorted(flags)


def test_every_demo_round_reconciles_with_its_events(ledger: Ledger, make_runner: RunnerFactory) -> None:
    load_demo(ledger, 4000)
    runner = make_runner()
    runner.catch_up()
    raw = _raw_rounds(ledger, 4000)
    assert len(raw) > 300
    for round_id, events in raw.items():
        doc = reconstruct_round(runner.views, round_id)
        assert doc["positions"] == [e.position for e in events]
        steps = [e for e in events if e.type.startswith("round.")]
        assert [s["step"] for s in doc["steps"]] == [e.payload["step"] for e in steps]
        bets = sum(
            (Decimal(e.payload["bet_amount"]["amount"]) for e in steps if e.type == "round.bet_placed"),
            Decimal(0),
        )
        wins = sum(
            (Decimal(e.payload["win_amount"]["amount"]) for e in steps if e.type == "round.win_recorded"),
            Decimal(0),
        )
        assert (Decimal(doc["total_bet"]), Decimal(doc["total_win"])) == (bets, wins)
        settled = [e for e in steps if e.type == "round.settled"]
        if settled:
            assert doc["technical_status"] == settled[0].payload["technical_status"]
        elif any(e.type == "round.rolled_back" for e in steps):
            assert doc["technical_status"] == "rollback"
        assert doc["flags"] == _expected_flags(steps)
        assert doc["release"] is not None
        assert doc["game_version_hash"] == steps[0].payload["game_version_hash"]


def _step(events: Events, kind: str, step: int, **payload: Any) -> dict[str, Any]:
    base = {"round_id": "r-bad", "step": step, "player_ref": "plr-1", "game_code": "g1"}
    return events.envelope(f"round.{kind}", "Round:r-bad", base | payload)


def _eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def test_consistency_flags_name_what_does_not_add_up(ledger: Ledger, make_runner: RunnerFactory) -> None:
    ev = Events(seed=5)
    ledger.append(
        [
            _step(ev, "started", 0, game_version_hash=HASH),
            _step(
                ev,
                "win_recorded",
                1,
                win_amount=_eur("5.00"),
                balance_before=_eur("10.00"),
                balance_after=_eur("15.00"),
            ),
            _step(
                ev,
                "settled",
                2,
                technical_status="success",
                total_bet=_eur("0.00"),
                total_win=_eur("5.00"),
                balance_after=_eur("15.00"),
            ),
            _step(
                ev,
                "rolled_back",
                4,
                reason="late",
                refunded_amount=_eur("1.00"),
                balance_before=_eur("14.00"),
                balance_after=_eur("15.00"),
            ),
        ]
    )
    runner = make_runner()
    runner.catch_up()
    doc = reconstruct_round(runner.views, "r-bad")
    assert doc["flags"] == [
        "balance_chain_broken",
        "rollback_after_settlement",
        "settled_without_bet",
        "step_gap",
        "win_without_outcome",
    ]
    assert doc["release"] is None
