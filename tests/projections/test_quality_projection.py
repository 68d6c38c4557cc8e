"""Data-quality checks: counts with examples, on crafted faults and on the demo history."""

from __future__ import annotations

from typing import Any

from ledger.application import Ledger
from projections.quality import quality_report
from tests.factories import Events
from tests.projections.support import RunnerFactory, load_demo, make_runner, make_views

__all__ = ["make_runner", "make_views"]
TERMINAL = {
    "payment.deposit_settled",
    "payment.deposit_cancelled",
    "payment.withdrawal_settled",
    "payment.withdrawal_cancelled",
}


def _eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def _wallet(ev: Events, kind: str, amount: str, before: str, after: str) -> dict[str, Any]:
    payload = {
        "player_ref": "plr-q",
        "amount": _eur(amount),
        "balance_before": _eur(before),
        "balance_after": _eur(after),
        "reason": "bet",
        "reference": "r-q",
    }
    return ev.envelope(kind, "Wallet:plr-q", payload)


def _pay(ev: Events, kind: str) -> dict[str, Any]:
    return ev.envelope(
        f"payment.{kind}",
        "Payment:dep-q",
        {"txn_id": "dep-q", "player_ref": "plr-q", "amount": _eur("10.00"), "psp": "adyen"},
    )


def test_crafted_faults_are_counted_with_examples(ledger: Ledger, make_runner: RunnerFactory) -> None:
    ev = Events(seed=4)
    ledger.append(
        [
            _wallet(ev, "wallet.credited", "10.00", "0.00", "10.00"),
            _wallet(ev, "wallet.debited", "1.00", "9.00", "8.00"),
            _pay(ev, "deposit_captured"),
            _pay(ev, "deposit_captured"),
        ]
    )
    runner = make_runner()
    runner.catch_up()
    checks = {c["check"]: c for c in quality_report(runner.views)}
    assert checks["wallet_balance_chain_broken"]["count"] == 1
    assert (
        checks["wallet_balance_chain_broken"]["examples"][0]["detail"]
        == "expected balance_before 10.00, got 9.00"
    )
    assert checks["payment_status_duplicate"]["count"] == 1
    assert checks["payment_not_terminal"]["count"] == 1
    assert checks["timeliness"]["count"] == 4
    ledger.append([_pay(ev, "deposit_settled")])
    runner.catch_up()
    checks = {c["check"]: c for c in quality_report(runner.views)}
    assert checks["payment_not_terminal"]["count"] == 0


def test_demo_counts_match_the_raw_events(ledger: Ledger, make_runner: RunnerFactory) -> None:
    events = load_demo(ledger, 3000)
    runner = make_runner()
    runner.catch_up()
    checks = {c["check"]: c for c in quality_report(runner.views)}
    statuses: dict[str, set[str]] = {}
    for e in events:
        if e["type"].startswith("payment."):
            statuses.setdefault(e["payload"]["txn_id"], set()).add(e["type"])
    open_payments = sorted(t for t, s in statuses.items() if not s & TERMINAL)
    assert checks["payment_not_terminal"]["count"] == len(open_payments)
    started = {e["payload"]["round_id"] for e in events if e["type"] == "round.started"}
    ended = {e["payload"]["round_id"] for e in events if e["type"] in {"round.settled", "round.rolled_back"}}
    assert checks["round_not_settled"]["count"] == len(started - ended)
    assert checks["timeliness"]["count"] == len(events)
    for name in (
        "round_step_gap",
        "round_step_duplicate",
        "wallet_balance_chain_broken",
        "payment_status_duplicate",
    ):
        assert checks[name]["count"] == 0, name
