"""Case views and current state against the raw log, on both stores."""

from __future__ import annotations

import pytest

from ledger.application import Ledger
from ledger.errors import NotFoundError
from projections.cases import case_view
from projections.state import lookup
from tests.projections.support import RunnerFactory, load_demo, make_runner, make_views

__all__ = ["make_runner", "make_views"]


def test_aml_case_and_incident_follow_their_streams(ledger: Ledger, make_runner: RunnerFactory) -> None:
    events = load_demo(ledger, 6000)
    runner = make_runner()
    runner.catch_up()
    case_ids = sorted({e["payload"]["case_id"] for e in events if e["type"] == "aml.case_opened"})
    assert case_ids
    for case_id in case_ids:
        view = case_view(runner.views, case_id)
        raw = ledger.history(f"AmlCase:{case_id}")
        assert [t["position"] for t in view["timeline"]] == [e.position for e in raw]
        decisions = [e for e in raw if e.type == "aml.decision_made"]
        assert [(d["decision_id"], d["policy_version"]) for d in view["decisions"]] == [
            (e.payload["decision_id"], e.payload["policy_version"]) for e in decisions
        ]
        opened = next(e for e in raw if e.type == "aml.case_opened")
        assert [a["alert_id"] for a in view["alerts"]] == opened.payload["alert_ids"]
        assert all("missing" not in a for a in view["alerts"])
        closed = [e for e in raw if e.type == "aml.case_closed"]
        assert view["status"] == ("closed" if closed else view["status"])
        filed = any(e.type == "aml.sar_filed" for e in raw)
        assert view["sar"]["status"] == ("filed" if filed else "not_filed")
        refs = {r for a in view["alerts"] for r in a["related_refs"]}
        assert {p["txn_id"] for p in view["linked_payments"]} == refs
    incidents = sorted({e["payload"]["incident_id"] for e in events if e["type"].startswith("incident.")})
    for incident_id in incidents:
        view = case_view(runner.views, incident_id)
        raw = ledger.history(f"Incident:{incident_id}")
        assert [t["position"] for t in view["timeline"]] == [e.position for e in raw]
        assert view["severity"] == raw[-1].payload["severity"]
    with pytest.raises(NotFoundError):
        case_view(runner.views, "case-none")


def test_player_state_matches_the_last_facts(ledger: Ledger, make_runner: RunnerFactory) -> None:
    events = load_demo(ledger, 3000)
    runner = make_runner()
    runner.catch_up()
    players = sorted({e["payload"]["player_ref"] for e in events if e["type"] == "kyc.started"})
    for ref in players:
        doc = lookup(runner.views, "player", ref)
        wallet = [e for e in events if e["stream"] == f"Wallet:{ref}"]
        if wallet:
            after = wallet[-1]["payload"]["balance_after"]
            assert doc["balances"] == {after["currency"]: after["amount"]}
        decided = [e for e in events if e["type"] == "kyc.decided" and e["payload"]["player_ref"] == ref]
        if decided:
            assert doc["kyc"]["status"] == decided[-1]["payload"]["kyc_status"]
    welcome = lookup(runner.views, "config", "BonusRule:rule-welcome")
    last = [e for e in events if e["stream"] == "BonusRule:rule-welcome"][-1]
    assert welcome["config"]["max_bonus"] == last["payload"]["config"]["max_bonus"]
    game = lookup(runner.views, "game", "viking-quest")
    releases = [
        e
        for e in events
        if e["type"] == "game.version_released" and e["payload"]["game_code"] == "viking-quest"
    ]
    assert [v["game_version_hash"] for v in game["versions"]] == [
        e["payload"]["game_version_hash"] for e in releases
    ]
