"""Report facts reconcile to the cent with the raw demo events, on both stores."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from projections.reports import report
from tests.projections.support import RunnerFactory, load_demo, make_runner, make_views

__all__ = ["make_runner", "make_views"]

BY_GAME = {
    "round.bet_placed": ("bets", "bet_amount"),
    "round.win_recorded": ("wins", "win_amount"),
    "round.rolled_back": ("rolled_back", "refunded_amount"),
}
BY_CURRENCY = {
    "payment.deposit_settled": "deposits",
    "payment.withdrawal_settled": "withdrawals",
    "payment.deposit_refunded": "refunds",
    "payment.chargeback_received": "chargebacks",
    "bonus.converted": "bonus_cost",
    "jackpot.contributed": "jackpot_contributions",
    "jackpot.paid": "jackpot_payouts",
}


def _expected(events: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Decimal]]:
    out: dict[tuple[str, ...], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for e in events:
        p, day, jur = e["payload"], e["occurred_at"][:10], e["jurisdiction"]
        if e["type"] in BY_GAME:
            name, field = BY_GAME[e["type"]]
            out[day, jur, p[field]["currency"], p["game_code"]][name] += Decimal(p[field]["amount"])
        elif e["type"] in BY_CURRENCY:
            out[day, jur, p["amount"]["currency"], "-"][BY_CURRENCY[e["type"]]] += Decimal(
                p["amount"]["amount"]
            )
    return out


def test_report_facts_reconcile_exactly_with_raw_events(ledger: Ledger, make_runner: RunnerFactory) -> None:
    events = load_demo(ledger, 6000)
    runner = make_runner()
    runner.catch_up()
    facts = report(runner.views)
    got = {
        (r["day"], r["jurisdiction"], r["currency"], r["game"]): {
            k: Decimal(v) for k, v in r["money"].items()
        }
        for r in facts["days"]
        if r["money"]
    }
    expected = _expected(events)
    assert got == {k: dict(v) for k, v in expected.items()}
    bets = sum((v.get("bets", Decimal(0)) for v in expected.values()), Decimal(0))
    assert bets > 0
    for r in facts["days"]:
        m = {k: Decimal(v) for k, v in r["money"].items()}
        ggr = m.get("bets", Decimal(0)) - m.get("wins", Decimal(0)) - m.get("rolled_back", Decimal(0))
        assert Decimal(r["ggr"]) == ggr
        assert Decimal(r["ngr"]) == ggr - m.get("bonus_cost", Decimal(0))
    kyc = sum(1 for e in events if e["type"] == "kyc.decided" and e["payload"]["kyc_status"] == "pass")
    assert sum(r["counts"].get("kyc_pass", 0) for r in facts["days"]) == kyc
    pools: dict[str, Decimal] = defaultdict(Decimal)
    for e in events:
        if e["type"] == "jackpot.contributed":
            pools[e["payload"]["jackpot_pool_id"]] += Decimal(e["payload"]["amount"]["amount"])
    assert {p["pool"]: Decimal(p["contributions"]) for p in facts["pools"]} == pools
    rtp_bets = sum((Decimal(b) for r in facts["rtp"] for b in r["bets"].values()), Decimal(0))
    refunded = sum((v.get("rolled_back", Decimal(0)) for v in expected.values()), Decimal(0))
    assert rtp_bets == bets - refunded
    assert all(r["rtp_theoretical"] for r in facts["rtp"])
