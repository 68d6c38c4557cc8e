"""Entity audit history against the raw log, on both stores."""

from __future__ import annotations

import json

import pytest

from ledger.application import Ledger
from ledger.errors import NotFoundError
from projections.audit import audit_history, audit_history_json
from projections.patch import apply
from tests.factories import Events, bonus_config
from tests.projections.support import RunnerFactory, load_demo, make_runner, make_views

__all__ = ["make_runner", "make_views"]


def test_every_revision_matches_the_log_and_patches_replay_the_state(
    ledger: Ledger, make_runner: RunnerFactory
) -> None:
    load_demo(ledger, 3000)
    events = Events(seed=9)
    configs = [
        bonus_config(wagering_multiplier=m, eligible_games=g)
        for m, g in ((35, ["a"]), (40, ["a", "b"]), (40, []))
    ]
    ledger.append([events.bonus_rule("br-audit", changed=i > 0, config=c) for i, c in enumerate(configs)])
    runner = make_runner()
    runner.catch_up()
    for stream in (
        "BonusRule:rule-welcome",
        "BonusRule:br-audit",
        "Player:plr-000001",
        "Operator:op-marco",
        "Game:viking-quest",
    ):
        entity, _, entity_id = stream.partition(":")
        revisions = audit_history(runner.views, entity, entity_id)
        raw = ledger.history(stream)
        assert [r["stream_position"] for r in revisions] == [e.stream_position for e in raw]
        assert [(r["position"], r["hash"], r["type"], r["event_id"]) for r in revisions] == [
            (e.position, e.hash, e.type, e.event_id) for e in raw
        ]
        assert [(r["actor"], r["occurred_at"], r["recorded_at"]) for r in revisions] == [
            (e.actor, e.occurred_at, e.recorded_at) for e in raw
        ]
        state: dict[str, object] = {}
        for r in revisions:
            state = apply(state, r["patch"])
            assert state == r["state"]
    history = audit_history(runner.views, "BonusRule", "br-audit")
    assert json.loads(audit_history_json(runner.views, "BonusRule", "br-audit")) == history
    assert history[1]["patch"] == [
        {"op": "add", "path": "/config/eligible_games/1", "value": "b"},
        {"op": "replace", "path": "/config/wagering_multiplier", "value": 40},
    ]
    assert history[2]["patch"] == [
        {"op": "remove", "path": "/config/eligible_games/1"},
        {"op": "remove", "path": "/config/eligible_games/0"},
    ]
    assert history[2]["state"]["config"]["wagering_multiplier"] == 40


def test_personal_fields_never_reach_the_views(ledger: Ledger, make_runner: RunnerFactory) -> None:
    events = Events(seed=3)
    ledger.append([events.kyc_started("plr-x", full_name="Greta Secret")])
    runner = make_runner()
    runner.catch_up()
    (revision,) = audit_history(runner.views, "Player", "plr-x")
    text = str(revision)
    assert "Greta" not in text
    assert "ct" not in revision["state"]["kyc"]
    with pytest.raises(NotFoundError, match="no audit history for Round:r-1"):
        audit_history(runner.views, "Round", "r-1")
