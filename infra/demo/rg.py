"""Responsible gaming: limits, self-exclusion (own and scheme matches), time-outs, interventions."""

from __future__ import annotations

from infra.demo.bonus import _forfeit
from infra.demo.payments import _withdraw
from infra.demo.world import _DAY, _RG, _SECOND, _SOFIA, Actor, Flow, Json, _Player, _World


def _registration_limits(w: _World, p: _Player, session_time: bool) -> None:
    p.limit_id, p.deposit_limit = w.ref("lim"), 4 * p.market.deposits[-1]
    payload: Json = {"player_ref": p.ref, "limit_id": p.limit_id, "limit_type": "deposit", "period": "weekly",
               "effective_at": w.ts(), "amount": p.money(p.deposit_limit)}  # fmt: skip
    w.emit("rg.limit_set", p.stream, payload, _RG, w.trace(), p.market.jurisdiction)
    if session_time:
        payload = {"player_ref": p.ref, "limit_id": w.ref("lim"), "limit_type": "session_time",
                   "period": "daily", "effective_at": w.ts(), "minutes": 120}  # fmt: skip
        w.emit("rg.limit_set", p.stream, payload, _RG, w.trace(), p.market.jurisdiction)


def _raise_limit(w: _World, p: _Player) -> Flow:
    if p.limit_id is None or p.deposit_limit is None:
        _registration_limits(w, p, session_time=False)
        yield w.between(1000, 3000)
        return True
    # An increase only applies after a 24-hour cooling-off, so the enforced limit stays.
    payload = {"player_ref": p.ref, "limit_id": p.limit_id, "limit_type": "deposit", "period": "weekly",
               "direction": "increase", "effective_at": w.ts(_DAY), "amount": p.money(2 * p.deposit_limit),
               "previous_amount": p.money(p.deposit_limit)}  # fmt: skip
    w.emit("rg.limit_changed", p.stream, payload, _RG, w.trace(), p.market.jurisdiction)
    yield w.between(1000, 3000)
    return True


def _self_exclude(w: _World, p: _Player) -> Flow:
    permanent = p.index % 2 == 0
    payload = {"player_ref": p.ref, "exclusion_id": w.ref("sx"), "scheme": p.market.exclusion_scheme,
               "until": None if permanent else w.ts(180 * _DAY), "requested_via": "player",
               "reason": "player request"}  # fmt: skip
    w.emit("rg.self_exclusion_started", p.stream, payload, _RG, w.trace(), p.market.jurisdiction)
    _forfeit(w, p, "cancelled_by_player")
    yield w.between(10 * _SECOND, 60 * _SECOND)
    yield from _withdraw(w, p)
    p.done = True
    return False


def _scheme_match(w: _World, p: _Player) -> Flow:
    exclusion, scheme, trace = w.ref("sx"), p.market.exclusion_scheme, w.trace()
    payload = {"player_ref": p.ref, "exclusion_id": exclusion, "scheme": scheme,
               "until": w.ts(5 * 365 * _DAY), "requested_via": "scheme",
               "reason": f"matched in the {scheme} register"}  # fmt: skip
    w.emit("rg.self_exclusion_started", p.stream, payload, _RG, trace, p.market.jurisdiction)
    yield w.between(20 * _SECOND, 60 * _SECOND)
    payload = {"player_ref": p.ref, "exclusion_id": exclusion, "scheme": scheme,
               "reason": "revoked_by_scheme",
               "detail": f"{scheme} confirmed the match was a different person"}  # fmt: skip
    w.emit("rg.self_exclusion_ended", p.stream, payload, _SOFIA, trace, p.market.jurisdiction)
    yield w.between(5 * _SECOND, 20 * _SECOND)
    return True


def _timeout(w: _World, p: _Player) -> Flow:
    p.paused_until = w.now + _DAY
    payload = {"player_ref": p.ref, "until": w.ts(_DAY), "reason": "taking a break"}
    w.emit("rg.timeout_started", p.stream, payload, _RG, w.trace(), p.market.jurisdiction)
    yield w.between(1000, 3000)
    return False


def _intervene(w: _World, p: _Player, kind: str, trigger: str, by: Actor) -> None:
    payload = {"player_ref": p.ref, "intervention_id": w.ref("int"), "kind": kind, "trigger": trigger,
               "by": by[1], "policy_version": "rg-2026.01"}  # fmt: skip
    w.emit("rg.intervention_recorded", p.stream, payload, by, w.trace(), p.market.jurisdiction)


def _call(w: _World, p: _Player) -> Flow:
    _intervene(w, p, "message", "session_loss", _RG)
    yield w.between(60 * _SECOND, 120 * _SECOND)
    _intervene(w, p, "call", "session_loss", _SOFIA)
    return True
