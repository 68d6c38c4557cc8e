"""Current state: players across their streams, the game catalogue, and configuration.

``player`` (by ``player_ref``): KYC status and tier, RG limits, self-exclusion and time-out,
wallet balances per currency, latest AML risk score, open AML cases, active bonuses.
``game`` (by ``game_code``): every certified version with its release and theoretical RTP,
and the current one. ``config`` (by stream): bonus rules, platform limits and feature flags
in their current configuration (the same fold as the audit view's state after).
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.errors import NotFoundError
from ledger.event import ReadEvent
from projections.entity import evolve
from projections.ports import Doc, ViewStore
from projections.runner import Docs, Need

_CONFIG = frozenset(
    {
        "bonus_rule.created",
        "bonus_rule.changed",
        "bonus_rule.retired",
        "limit.changed",
        "feature_flag.changed",
    }
)
_PLAYER = frozenset(
    {
        "kyc.started",
        "kyc.decided",
        "rg.limit_set",
        "rg.limit_changed",
        "rg.self_exclusion_started",
        "rg.self_exclusion_ended",
        "rg.timeout_started",
        "aml.alert_raised",
        "aml.decision_made",
        "aml.case_opened",
        "aml.case_closed",
        "wallet.debited",
        "wallet.credited",
        "bonus.granted",
        "bonus.converted",
        "bonus.forfeited",
    }
)


def _player(ref: str) -> Doc:
    return {
        "player_ref": ref,
        "jurisdiction": None,
        "kyc": {"status": "none", "tier": "unverified", "policy_version": None},
        "rg": {},
        "balances": {},
        "risk_score": None,
        "open_cases": [],
        "active_bonuses": [],
    }


class StateProjection:
    """Fold the facts that make up players' and the catalogue's current state."""

    name = "state"
    version = 1
    topics = _CONFIG | _PLAYER | {"game.version_released"}
    tables: tuple[str, ...] = ("player", "game", "config")

    def needs(self, fact: ReadEvent) -> Iterable[Need]:
        """The document the fact changes."""
        if fact.type in _CONFIG:
            return (("config", fact.stream),)
        if fact.type == "game.version_released":
            return (("game", fact.payload["game_code"]),)
        return (("player", fact.payload["player_ref"]),)

    def apply(self, fact: ReadEvent, docs: Docs) -> None:
        """Fold one fact."""
        p = fact.payload
        if fact.type in _CONFIG:
            docs.put("config", fact.stream, evolve(docs.get("config", fact.stream), fact))
        elif fact.type == "game.version_released":
            game = docs.get("game", p["game_code"]) or {"game_code": p["game_code"], "versions": []}
            version = {
                k: p[k]
                for k in ("game_version_hash", "release_id", "rtp_theoretical", "certificate_ref", "test_lab")
            }
            game["versions"].append({**version, "released_at": fact.occurred_at, "position": fact.position})
            game.update(
                current=p["game_version_hash"],
                rtp_theoretical=p["rtp_theoretical"],
                provider=p.get("provider"),
            )
            docs.put("game", p["game_code"], game)
        else:
            doc = docs.get("player", p["player_ref"]) or _player(p["player_ref"])
            doc["jurisdiction"] = fact.jurisdiction
            _fold_player(doc, fact)
            docs.put("player", p["player_ref"], doc)


def _fold_player(doc: Doc, fact: ReadEvent) -> None:
    p, t = fact.payload, fact.type
    if t.startswith("wallet."):
        doc["balances"][p["balance_after"]["currency"]] = p["balance_after"]["amount"]
    elif t == "kyc.started":
        doc["kyc"] = {**doc["kyc"], "status": "started", "level": p["level"]}
    elif t == "kyc.decided":
        doc["kyc"] = {
            **doc["kyc"],
            "status": p["kyc_status"],
            "tier": p["tier"],
            "policy_version": p["policy_version"],
        }
    elif t.startswith("rg."):
        doc["rg"] = evolve({"rg": doc["rg"]}, fact)["rg"]
    elif t in {"aml.alert_raised", "aml.decision_made"}:
        doc["risk_score"] = p["risk_score"]
    elif t == "aml.case_opened":
        doc["open_cases"] = sorted({*doc["open_cases"], p["case_id"]})
    elif t == "aml.case_closed":
        doc["open_cases"] = [c for c in doc["open_cases"] if c != p["case_id"]]
    elif t == "bonus.granted":
        doc["active_bonuses"] = sorted({*doc["active_bonuses"], p["bonus_id"]})
    else:
        doc["active_bonuses"] = [b for b in doc["active_bonuses"] if b != p["bonus_id"]]


def lookup(views: ViewStore, table: str, key: str) -> Doc:
    """One current-state document (``player``, ``game`` or ``config``).

    Raises:
        NotFoundError: nothing by that key.
    """
    doc = views.get(table, key)
    if doc is None:
        msg = f"no {table} {key}"
        raise NotFoundError(msg, field=table)
    return doc
