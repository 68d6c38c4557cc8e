"""Bonuses: the operator's rules (created, changed) and each player's bonus (granted, wagered, ended).

A bonus is granted on a qualifying deposit, progresses with every stake placed while it is
active (the round passes its id, stake and trace), converts into real money once wagered
off and is forfeited on withdrawal, exclusion or expiry. The state it works on
(:class:`~infra.demo.world._Rule`, :class:`~infra.demo.world._Bonus`) lives in the world,
so this module needs no other section and payments, rounds and RG can all call it.
"""

from __future__ import annotations

from typing import Any

from infra.demo.world import _ANNA, _BONUS, _DAY, _MARCO, Actor, _Bonus, _eur, _Player, _Rule, _wallet, _World


def _open_rule(
    w: _World, rule_id: str, name: str, kind: str, multiplier: int,
    percent: int = 0, max_bonus: int = 0, **terms: Any,
) -> None:  # fmt: skip
    config = {"name": name, "kind": kind, "wagering_multiplier": multiplier,
              "jurisdictions": ["MT", "GB", "DK"], "valid_from": w.ts(), "terms_version": f"{kind}-2026.1",
              **terms}  # fmt: skip
    if percent:
        config["match_percent"] = f"{percent}.00"
    if max_bonus:
        config["max_bonus"] = _eur(max_bonus)
    w.bonus_rules[rule_id] = _Rule(rule_id, config, percent, max_bonus, multiplier)
    w.grantable.append(rule_id)
    payload = {"rule_id": rule_id, "config": config, "reason": "launch of the 2026 promotions"}
    w.emit("bonus_rule.created", f"BonusRule:{rule_id}", payload, _ANNA, w.trace())


def _change_rule(w: _World, rule_id: str, actor: Actor, reason: str, **changes: Any) -> None:
    rule = w.bonus_rules[rule_id]
    rule.config = {**rule.config, **changes}
    if "max_bonus" in changes:
        units, _, cents = changes["max_bonus"]["amount"].partition(".")
        rule.max_bonus = int(units + cents)
    payload = {"rule_id": rule_id, "config": rule.config, "reason": reason, "approved_by": _MARCO[1]}
    w.emit("bonus_rule.changed", f"BonusRule:{rule_id}", payload, actor, w.trace())


def _grant(w: _World, p: _Player, rule_id: str, deposit: int) -> None:
    rule = w.bonus_rules[rule_id]
    if rule_id not in w.grantable or p.bonus is not None:
        return
    amount = min(deposit * rule.percent // 100, rule.max_bonus)
    bonus = _Bonus(w.ref("bon"), amount, amount * rule.multiplier)
    payload = {"bonus_id": bonus.bonus_id, "rule_id": rule_id, "player_ref": p.ref, "amount": p.money(amount),
               "wagering_required": p.money(bonus.required), "expires_at": w.ts(30 * _DAY)}  # fmt: skip
    w.emit("bonus.granted", f"Bonus:{bonus.bonus_id}", payload, _BONUS, w.trace(), p.market.jurisdiction)
    p.bonus = bonus


def _wager(w: _World, p: _Player, round_id: str, stake: int, trace: str) -> None:
    bonus = p.bonus
    if bonus is None:
        return
    bonus.wagered += stake
    stream, jur = f"Bonus:{bonus.bonus_id}", p.market.jurisdiction
    payload = {"bonus_id": bonus.bonus_id, "player_ref": p.ref, "round_id": round_id,
               "contributed": p.money(stake), "wagered_total": p.money(bonus.wagered),
               "wagering_required": p.money(bonus.required)}  # fmt: skip
    w.emit("bonus.wagering_progressed", stream, payload, _BONUS, trace, jur)
    if bonus.wagered >= bonus.required:
        payload = {"bonus_id": bonus.bonus_id, "player_ref": p.ref, "amount": p.money(bonus.amount)}
        w.emit("bonus.converted", stream, payload, _BONUS, trace, jur)
        _wallet(w, p, "wallet.credited", bonus.amount, "bonus", bonus.bonus_id, trace)
        p.bonus = None


def _forfeit(w: _World, p: _Player, reason: str, actor: Actor = _BONUS) -> None:
    bonus = p.bonus
    if bonus is None:
        return
    payload = {"bonus_id": bonus.bonus_id, "player_ref": p.ref, "amount": p.money(bonus.amount),
               "reason": reason}  # fmt: skip
    w.emit("bonus.forfeited", f"Bonus:{bonus.bonus_id}", payload, actor, w.trace(), p.market.jurisdiction)
    p.bonus = None
