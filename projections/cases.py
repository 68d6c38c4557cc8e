"""Case views: AML cases and incidents, each with its timeline.

An AML case carries its alerts, decisions with policy versions, linked payments, the
subject's KYC/KYT results and the SAR/STR status; an incident its severity and status.

Alerts are raised before a case exists, so they are kept by id and copied into the case
when it opens. KYC/KYT results and payments are kept per player and per transaction and
joined at read time (``case_view``), so a case always shows their latest state.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.errors import NotFoundError
from ledger.event import ReadEvent
from projections.ports import Doc, ViewStore
from projections.runner import Docs, Need

_AML = frozenset(
    {
        "aml.alert_raised",
        "aml.case_opened",
        "aml.case_escalated",
        "aml.decision_made",
        "aml.sar_filed",
        "aml.case_closed",
    }
)
_INCIDENT = frozenset({"incident.opened", "incident.updated", "incident.closed", "rng.anomaly_detected"})
_SUBJECT = frozenset({"kyc.decided", "kyc.screened", "kyt.address_screened"})
_PAYMENT_KEEP = ("player_ref", "amount", "psp", "method", "reason", "chargeback_id")


def _entry(fact: ReadEvent, **extra: object) -> Doc:
    return {
        "at": fact.occurred_at,
        "type": fact.type,
        "actor": fact.actor["id"],
        "position": fact.position,
        **extra,
    }


class CaseProjection:
    """Fold AML, incident, KYC/KYT and payment facts into case documents."""

    name = "cases"
    version = 1
    topics = (
        _AML
        | _INCIDENT
        | _SUBJECT
        | {
            "payment.deposit_authorized",
            "payment.deposit_captured",
            "payment.deposit_settled",
            "payment.deposit_refunded",
            "payment.deposit_cancelled",
            "payment.chargeback_received",
            "payment.withdrawal_requested",
            "payment.withdrawal_authorized",
            "payment.withdrawal_settled",
            "payment.withdrawal_cancelled",
        }
    )
    tables: tuple[str, ...] = ("aml_case", "case_alert", "case_subject", "case_payment", "incident")

    def needs(self, fact: ReadEvent) -> Iterable[Need]:
        """The case, subject, payment or incident the fact changes."""
        p = fact.payload
        if fact.type in _INCIDENT:
            return (("incident", p["incident_id"]),) if p.get("incident_id") else ()
        if fact.type in _SUBJECT:
            return (("case_subject", p["player_ref"]),)
        if fact.type.startswith("payment."):
            return (("case_payment", p["txn_id"]),)
        if fact.type == "aml.case_opened":
            return (("aml_case", p["case_id"]), *(("case_alert", a) for a in p["alert_ids"]))
        if fact.type in {"aml.alert_raised", "aml.decision_made"} and not p.get("case_id"):
            return (("case_subject", p["player_ref"]),)
        return (("aml_case", p["case_id"]),) if p.get("case_id") else ()

    def apply(self, fact: ReadEvent, docs: Docs) -> None:
        """Fold one fact."""
        p = fact.payload
        if fact.type in _INCIDENT:
            if p.get("incident_id"):
                _incident(fact, docs)
        elif fact.type in _SUBJECT or (
            fact.type in {"aml.alert_raised", "aml.decision_made"} and not p.get("case_id")
        ):
            _subject(fact, docs)
        elif fact.type.startswith("payment."):
            pay = docs.get("case_payment", p["txn_id"]) or {"txn_id": p["txn_id"], "history": []}
            pay.update(
                {k: p[k] for k in _PAYMENT_KEEP if p.get(k) is not None},
                status=fact.type.removeprefix("payment."),
            )
            pay["history"].append(_entry(fact))
            docs.put("case_payment", p["txn_id"], pay)
        elif p.get("case_id"):
            _aml(fact, docs)


def _subject(fact: ReadEvent, docs: Docs) -> None:
    p = fact.payload
    doc = docs.get("case_subject", p["player_ref"]) or {
        "player_ref": p["player_ref"],
        "kyc": [],
        "kyt": [],
        "alerts": [],
        "decisions": [],
    }
    if fact.type == "kyc.decided":
        doc["kyc"].append(
            _entry(fact, status=p["kyc_status"], tier=p["tier"], policy_version=p["policy_version"])
        )
    elif fact.type == "kyc.screened":
        doc["kyc"].append(_entry(fact, sanctions_hit=p["sanctions_hit"], pep_hit=p["pep_hit"]))
    elif fact.type == "kyt.address_screened":
        doc["kyt"].append(
            _entry(fact, chain=p["chain"], risk_score=p["risk_score"], categories=p["categories"])
        )
    elif fact.type == "aml.alert_raised":
        alert = _alert(fact)
        doc["alerts"].append(alert["alert_id"])
        docs.put("case_alert", alert["alert_id"], alert)
    else:
        doc["decisions"].append(_decision(fact))
    docs.put("case_subject", p["player_ref"], doc)


def _alert(fact: ReadEvent) -> Doc:
    p = fact.payload
    keep = ("alert_id", "source", "rule_ids", "risk_score", "summary", "related_refs", "policy_version")
    return _entry(fact, **{k: p.get(k) for k in keep})


def _decision(fact: ReadEvent) -> Doc:
    p = fact.payload
    keep = (
        "decision_id",
        "action",
        "risk_score",
        "policy_version",
        "rule_ids",
        "explanations",
        "limits",
        "decided_by",
        "reviewer",
    )
    return _entry(fact, **{k: p.get(k) for k in keep})


def _aml(fact: ReadEvent, docs: Docs) -> None:
    p, t = fact.payload, fact.type
    doc = docs.get("aml_case", p["case_id"]) or {
        "case_id": p["case_id"],
        "player_ref": p["player_ref"],
        "status": "open",
        "priority": None,
        "alerts": [],
        "decisions": [],
        "sar": {"status": "not_filed"},
        "outcome": None,
        "timeline": [],
    }
    if t == "aml.case_opened":
        doc.update(priority=p["priority"], opened_by=p["opened_by"], opened_at=fact.occurred_at)
        doc["alerts"] = [
            docs.get("case_alert", a) or {"alert_id": a, "missing": True} for a in p["alert_ids"]
        ]
    elif t == "aml.case_escalated":
        doc["status"] = "escalated"
    elif t == "aml.decision_made":
        doc["decisions"].append(_decision(fact))
    elif t == "aml.sar_filed":
        doc["sar"] = {
            "status": "filed",
            "filing_ref": p["filing_ref"],
            "authority": p["authority"],
            "filed_at": p["filed_at"],
            "filed_by": p["filed_by"],
        }
    elif t == "aml.case_closed":
        doc.update(status="closed", outcome=p["outcome"], closed_at=fact.occurred_at)
    doc["timeline"].append(_entry(fact, reason=p.get("reason")))
    docs.put("aml_case", p["case_id"], doc)


def _incident(fact: ReadEvent, docs: Docs) -> None:
    p = fact.payload
    doc = docs.get("incident", p["incident_id"]) or {
        "incident_id": p["incident_id"],
        "anomalies": [],
        "timeline": [],
    }
    if fact.type == "rng.anomaly_detected":
        doc["anomalies"].append(
            _entry(fact, game_code=p["game_code"], metric=p["metric"], observed=p["observed"])
        )
    else:
        keep = (
            "severity",
            "status",
            "title",
            "summary",
            "affected_games",
            "regulator_notified",
            "root_cause",
        )
        doc.update({k: p[k] for k in keep if p.get(k) is not None})
        doc["timeline"].append(_entry(fact, severity=p["severity"], status=p.get("status", "open")))
    docs.put("incident", p["incident_id"], doc)


def case_view(views: ViewStore, case_id: str) -> Doc:
    """An AML case with its subject's KYC/KYT results and linked payments, or an incident.

    Raises:
        NotFoundError: no AML case or incident by that id.
    """
    case = views.get("aml_case", case_id)
    if case is None:
        incident = views.get("incident", case_id)
        if incident is None:
            msg = f"no AML case or incident {case_id}"
            raise NotFoundError(msg, field="case_id")
        return {"kind": "incident", **incident}
    subject = views.get("case_subject", case["player_ref"]) or {}
    refs = sorted({r for a in case["alerts"] for r in a.get("related_refs") or []})
    payments = views.load("case_payment", refs)
    return {
        "kind": "aml_case",
        **case,
        "kyc": subject.get("kyc", []),
        "kyt": subject.get("kyt", []),
        "player_decisions": subject.get("decisions", []),
        "linked_payments": [payments[r] for r in refs if r in payments],
    }
