"""KYC at registration and AML afterwards: identity checks and decisions, alerts, cases, SARs.

Registration returns whether the player may play; AML reviews run as stories of their own
(:func:`_case`), so the player keeps playing while the analyst works the case.
"""

from __future__ import annotations

from infra.demo.world import _AML, _KYC, _LENA, _MLRO, _SECOND, Actor, Flow, Json, Story, _Player, _World

# --- KYC -------------------------------------------------------------------------------


def _register(w: _World, p: _Player) -> Flow:
    check, trace, jur = w.ref("kyc"), w.trace(), p.market.jurisdiction
    w.emit("kyc.started", p.stream, _identity(w, p, check), _KYC, trace, jur)
    yield w.between(3 * _SECOND, 15 * _SECOND)
    result = "rejected" if p.kyc_outcome == "fail" else "verified"
    _document(w, p, check, trace, "passport" if p.index % 3 else "id_card", result)
    yield w.between(1000, 4000)
    payload = {"player_ref": p.ref, "check_id": check, "lists": ["UN", "EU", "OFAC", "UK-HMT"],
               "sanctions_hit": False, "pep_hit": False, "adverse_media_hit": False}  # fmt: skip
    w.emit("kyc.screened", p.stream, payload, _KYC, trace, jur)
    yield w.between(500, 2000)
    if p.kyc_outcome == "request_info":
        _decide(w, p, check, trace, "request_info", "proof of address required")
        yield w.between(20 * _SECOND, 60 * _SECOND)
        _document(w, p, check, trace, "utility_bill", "verified")
        yield w.between(500, 2000)
    status = "fail" if p.kyc_outcome == "fail" else "pass"
    _decide(w, p, check, trace, status, "identity document rejected" if status == "fail" else None)
    return status == "pass"


def _identity(w: _World, p: _Player, check: str) -> Json:
    first, last = p.name
    number = p.index + 11
    return {
        "player_ref": p.ref, "check_id": check, "provider": "idcheck-legacy" if p.legacy_kyc else "onfido",
        "level": "basic", "full_name": f"{first} {last}",
        "date_of_birth": f"{1960 + number % 44}-{1 + number % 12:02d}-{1 + number % 28:02d}",
        "address": f"{number} Main Street, {p.market.cities[number % 3]}",
        "email": f"{first.lower()}.{last.lower()}{number}@example.com",
        "phone": f"{p.market.phone} {w.between(100000, 999999)}", "ip_address": f"203.0.113.{number % 250}",
    }  # fmt: skip


def _document(w: _World, p: _Player, check: str, trace: str, kind: str, result: str) -> None:
    payload = {"player_ref": p.ref, "check_id": check, "document_type": kind,
               "document_number": f"{p.market.jurisdiction}{w.between(1000000, 9999999)}",
               "issuing_country": p.market.jurisdiction, "result": result,
               "provider_reference": f"doc-{check}"}  # fmt: skip
    w.emit("kyc.document_checked", p.stream, payload, _KYC, trace, p.market.jurisdiction)


def _decide(w: _World, p: _Player, check: str, trace: str, status: str, reason: str | None) -> None:
    payload: Json = {"player_ref": p.ref, "check_id": check, "kyc_status": status, "reason": reason}
    version = 1
    if not p.legacy_kyc:  # the legacy provider integration still emits v1 decisions
        version = 2
        tier = "full" if status == "pass" else "unverified"
        payload |= {"policy_version": "kyc-2026.01", "tier": tier, "decided_by": "automatic"}
    w.emit("kyc.decided", p.stream, payload, _KYC, trace, p.market.jurisdiction, version)


# --- AML -------------------------------------------------------------------------------


def _alert(w: _World, p: _Player, source: str, rules: list[str], score: int, summary: str) -> str:
    alert = w.ref("alert")
    payload = {"alert_id": alert, "player_ref": p.ref, "source": source, "rule_ids": rules,
               "risk_score": score, "summary": summary, "related_refs": [txn for txn, _ in p.deposits[-3:]],
               "policy_version": "aml-2026.01"}  # fmt: skip
    w.emit("aml.alert_raised", p.stream, payload, _AML, w.trace(), p.market.jurisdiction)
    return alert


def _decision(
    w: _World, p: _Player, case: str | None, action: str, score: int, why: list[str],
    actor: Actor = _AML, limits: Json | None = None, rules: tuple[str, ...] = ("TM-DEP-VELOCITY",),
) -> None:  # fmt: skip
    manual = actor[0] == "operator"
    payload = {"decision_id": w.ref("dec"), "player_ref": p.ref, "risk_score": score, "action": action,
               "explanations": why, "policy_version": "aml-2026.01", "case_id": case, "limits": limits,
               "rule_ids": list(rules), "ttl_seconds": 30 * 86400,
               "decided_by": "manual" if manual else "automatic",
               "reviewer": actor[1] if manual else None}  # fmt: skip
    stream = f"AmlCase:{case}" if case else p.stream
    w.emit("aml.decision_made", stream, payload, actor, w.trace(), p.market.jurisdiction)


def _review(w: _World, p: _Player, sar: bool) -> Flow:
    summary = "deposit velocity above the monitoring threshold"
    alert = _alert(w, p, "transaction_monitoring", ["TM-DEP-VELOCITY"], 640 if sar else 480, summary)
    _decision(w, p, None, "monitor", 640 if sar else 480, [summary])
    w.spawn(_case(w, p, alert, sar), w.between(10 * _SECOND, 30 * _SECOND))
    yield w.between(1000, 3000)
    return True


def _case(w: _World, p: _Player, alert: str, sar: bool) -> Story:
    case, trace, jur = w.ref("case"), w.trace(), p.market.jurisdiction
    stream, base = f"AmlCase:{case}", {"case_id": f"{case}", "player_ref": p.ref}
    payload = {**base, "alert_ids": [alert], "priority": "high" if sar else "medium", "opened_by": _LENA[1],
               "reason": "source of funds unclear"}  # fmt: skip
    w.emit("aml.case_opened", stream, payload, _LENA, trace, jur)
    yield w.between(15 * _SECOND, 45 * _SECOND)
    if not sar:
        cap = p.market.deposits[-1]
        p.deposit_limit = min(p.deposit_limit or p.deposited + cap, p.deposited + cap)
        _decision(w, p, case, "limit", 520, ["deposits capped pending source of funds"], _LENA, p.money(cap))
        yield w.between(15 * _SECOND, 45 * _SECOND)
        payload = {**base, "outcome": "limits_applied", "closed_by": _LENA[1]}
        w.emit("aml.case_closed", stream, payload, _LENA, trace, jur)
        return
    _decision(w, p, case, "report", 780, ["funds layered through crypto deposits", "no play-through"], _LENA)
    payload = {**base, "escalated_to": "mlro", "escalated_by": _LENA[1], "reason": "suspicion of layering"}
    w.emit("aml.case_escalated", stream, payload, _LENA, trace, jur)
    yield w.between(15 * _SECOND, 45 * _SECOND)
    yield from _file_sar(w, p, case, trace)


def _file_sar(w: _World, p: _Player, case: str, trace: str) -> Story:
    stream, jur, base = f"AmlCase:{case}", p.market.jurisdiction, {"case_id": case, "player_ref": p.ref}
    payload = {**base, "filing_ref": f"{p.market.fiu}-{w.ref('sar')}", "authority": p.market.fiu,
               "filed_at": w.ts(), "filed_by": _MLRO[1],
               "transactions_reported": len(p.deposits)}  # fmt: skip
    w.emit("aml.sar_filed", stream, payload, _MLRO, trace, jur)
    yield w.between(10 * _SECOND, 30 * _SECOND)
    payload = {
        **base,
        "outcome": "sar_filed",
        "closed_by": _MLRO[1],
        "summary": "SAR filed; relationship kept under enhanced monitoring",
    }
    w.emit("aml.case_closed", stream, payload, _MLRO, trace, jur)


def _monitor_deposits(w: _World, p: _Player) -> None:
    if p.aml_flagged or p.deposited < 5 * p.market.deposits[-1]:
        return
    p.aml_flagged = True
    summary = "cumulative deposits above the monitoring threshold"
    _alert(w, p, "transaction_monitoring", ["TM-DEP-CUMULATIVE"], 350, summary)
    _decision(w, p, None, "monitor", 350, [summary], rules=("TM-DEP-CUMULATIVE",))
