"""The state of an entity stream after each event: one pure fold shared by audit and state views.

``evolve(state, fact)`` returns a new document (never mutates ``state``). Configuration
entities keep their whole configuration; a player's stream folds KYC, responsible-gaming
and AML facts into sections. Anything without a dedicated rule merges its payload, minus
the per-change annotations (``reason``, ``detail``, ``notes``), which the revision records
instead. Sealed personal fields appear only as ``[sealed]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.event import ReadEvent
from projections.ports import Doc
from projections.redaction import redacted

ANNOTATIONS = frozenset({"reason", "detail", "notes"})
Rule = Callable[[Doc, dict[str, Any]], Doc]


def _merge(state: Doc, p: dict[str, Any]) -> Doc:
    return {**state, **{k: v for k, v in p.items() if k not in ANNOTATIONS}}


def _section(state: Doc, name: str, **changes: Any) -> Doc:
    return {**state, name: {**state.get(name, {}), **changes}}


def _rule_set(state: Doc, p: dict[str, Any]) -> Doc:
    return {**state, "rule_id": p["rule_id"], "status": "active", "config": p["config"]}


def _kyc_started(state: Doc, p: dict[str, Any]) -> Doc:
    check = {"check_id": p["check_id"], "provider": p["provider"], "level": p["level"], "status": "started"}
    return _section(state, "kyc", **check, documents=[], screening=None)


def _kyc_document(state: Doc, p: dict[str, Any]) -> Doc:
    doc = {k: p.get(k) for k in ("document_type", "issuing_country", "result")}
    return _section(state, "kyc", documents=[*state.get("kyc", {}).get("documents", []), doc])


def _kyc_screened(state: Doc, p: dict[str, Any]) -> Doc:
    hits = {k: p.get(k) for k in ("lists", "sanctions_hit", "pep_hit", "adverse_media_hit")}
    return _section(state, "kyc", screening=hits)


def _kyc_decided(state: Doc, p: dict[str, Any]) -> Doc:
    return _section(
        state,
        "kyc",
        status=p["kyc_status"],
        tier=p["tier"],
        policy_version=p["policy_version"],
        decided_by=p["decided_by"],
    )


def _kyt(state: Doc, p: dict[str, Any]) -> Doc:
    return _section(state, "kyt", **{p["screening_id"]: {"chain": p["chain"], "risk_score": p["risk_score"]}})


def _limit(state: Doc, p: dict[str, Any]) -> Doc:
    keep = ("limit_type", "period", "amount", "minutes", "effective_at", "set_by")
    limits = dict(state.get("rg", {}).get("limits", {}))
    if p.get("direction") == "removed":
        limits.pop(p["limit_id"], None)
    else:
        limits[p["limit_id"]] = {k: p.get(k) for k in keep}
    return _section(state, "rg", limits=limits)


def _exclusion(state: Doc, p: dict[str, Any]) -> Doc:
    keep = ("exclusion_id", "scheme", "until", "requested_via")
    return _section(state, "rg", self_exclusion={k: p.get(k) for k in keep})


def _exclusion_ended(state: Doc, p: dict[str, Any]) -> Doc:  # noqa: ARG001 - the rule shape
    return _section(state, "rg", self_exclusion=None)


def _timeout(state: Doc, p: dict[str, Any]) -> Doc:
    return _section(state, "rg", timeout_until=p["until"])


def _intervention(state: Doc, p: dict[str, Any]) -> Doc:
    return _section(state, "rg", last_intervention={"kind": p["kind"], "trigger": p["trigger"]})


def _alert(state: Doc, p: dict[str, Any]) -> Doc:
    alerts = [*state.get("aml", {}).get("alerts", []), p["alert_id"]]
    return _section(state, "aml", alerts=alerts, risk_score=p["risk_score"])


def _decision(state: Doc, p: dict[str, Any]) -> Doc:
    last = {k: p.get(k) for k in ("decision_id", "action", "policy_version", "limits", "case_id")}
    return _section(state, "aml", risk_score=p["risk_score"], last_decision=last)


def _role_granted(state: Doc, p: dict[str, Any]) -> Doc:
    return {**state, "user_id": p["user_id"], "roles": sorted({*state.get("roles", []), p["role"]})}


def _role_revoked(state: Doc, p: dict[str, Any]) -> Doc:
    return {**state, "user_id": p["user_id"], "roles": sorted(set(state.get("roles", [])) - {p["role"]})}


def _escalated(state: Doc, p: dict[str, Any]) -> Doc:
    roles = sorted({*state.get("roles", []), p["to_role"]})
    return {
        **state,
        "user_id": p["user_id"],
        "roles": roles,
        "escalation": {"to_role": p["to_role"], "expires_at": p["expires_at"]},
    }


def _login(state: Doc, p: dict[str, Any]) -> Doc:
    return {**state, "user_id": p["user_id"], "last_login": {"success": p["success"], "mfa": p["mfa"]}}


def _release(state: Doc, p: dict[str, Any]) -> Doc:
    keep = (
        "game_version_hash",
        "release_id",
        "rtp_theoretical",
        "certificate_ref",
        "test_lab",
        "jurisdictions",
        "provider",
    )
    versions = [*state.get("versions", []), p["game_version_hash"]]
    return {**state, "game_code": p["game_code"], **{k: p.get(k) for k in keep}, "versions": versions}


def _anomaly(state: Doc, p: dict[str, Any]) -> Doc:
    found = {k: p.get(k) for k in ("metric", "observed", "expected", "game_version_hash")}
    return {**state, "game_code": p["game_code"], "last_anomaly": found}


def _status(status: str) -> Rule:
    def rule(state: Doc, p: dict[str, Any]) -> Doc:
        return {**_merge(state, p), "status": status}

    return rule


RULES: dict[str, Rule] = {
    "bonus_rule.created": _rule_set,
    "bonus_rule.changed": _rule_set,
    "bonus_rule.retired": _status("retired"),
    "kyc.started": _kyc_started,
    "kyc.document_checked": _kyc_document,
    "kyc.screened": _kyc_screened,
    "kyc.decided": _kyc_decided,
    "kyt.address_screened": _kyt,
    "rg.limit_set": _limit,
    "rg.limit_changed": _limit,
    "rg.self_exclusion_started": _exclusion,
    "rg.self_exclusion_ended": _exclusion_ended,
    "rg.timeout_started": _timeout,
    "rg.intervention_recorded": _intervention,
    "aml.alert_raised": _alert,
    "aml.decision_made": _decision,
    "admin.role_granted": _role_granted,
    "admin.role_revoked": _role_revoked,
    "admin.privilege_escalated": _escalated,
    "admin.logged_in": _login,
    "game.version_released": _release,
    "rng.anomaly_detected": _anomaly,
    "payment.deposit_authorized": _status("authorized"),
    "payment.deposit_captured": _status("captured"),
    "payment.deposit_settled": _status("settled"),
    "payment.deposit_refunded": _status("refunded"),
    "payment.deposit_cancelled": _status("cancelled"),
    "payment.chargeback_received": _status("charged_back"),
    "payment.withdrawal_requested": _status("requested"),
    "payment.withdrawal_authorized": _status("authorized"),
    "payment.withdrawal_settled": _status("settled"),
    "payment.withdrawal_cancelled": _status("cancelled"),
    "bonus.granted": _status("active"),
    "bonus.converted": _status("converted"),
    "bonus.forfeited": _status("forfeited"),
}


def evolve(state: Doc | None, fact: ReadEvent) -> Doc:
    """The stream's state after ``fact`` (a new document)."""
    rule = RULES.get(fact.type, _merge)
    entity_aml = fact.entity == "AmlCase" and fact.type in {"aml.alert_raised", "aml.decision_made"}
    return (_merge if entity_aml else rule)(state or {}, redacted(fact.payload))
