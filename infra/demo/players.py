"""The players' stories: arrivals, registration, sessions of rounds, and the actions planned for them.

Each player is planned up front: the first :data:`_SCRIPTED` players each exercise one
kind of flow early in the history; every later player draws a market, a stake and a few
:data:`_RANDOM_ACTIONS` from the seeded generator. :func:`_arrivals` spawns one
:func:`_life` per player.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from infra.demo.bonus import _forfeit, _grant
from infra.demo.kyc_aml import _monitor_deposits, _register, _review
from infra.demo.markets import _KYC_OUTCOMES, _MARKET_WEIGHTS, _MARKETS, _MAX_DEPOSITS
from infra.demo.payments import _chargeback, _deposit, _refund, _withdraw
from infra.demo.rg import _call, _raise_limit, _registration_limits, _scheme_match, _self_exclude, _timeout
from infra.demo.rounds import _round
from infra.demo.world import _DAY, _HOUR, _SECOND, _SYSTEM, Flow, Story, _Player, _World


def _top_up(w: _World, p: _Player) -> Flow:
    if len(p.deposits) >= _MAX_DEPOSITS:
        return False
    amount = w.rng.choice(p.market.deposits)
    if not (yield from _deposit(w, p, amount)):
        return False
    if len(p.deposits) == 1 and p.bonus_kind == "welcome":
        _grant(w, p, "rule-welcome", amount)
    _monitor_deposits(w, p)
    return p.balance >= p.bet


def _act_reload(w: _World, p: _Player) -> Flow:
    amount = p.market.deposits[3]
    if (yield from _deposit(w, p, amount)):
        _grant(w, p, "rule-reload", amount)
    return True


def _act_declined(w: _World, p: _Player) -> Flow:
    yield from _deposit(w, p, p.market.deposits[2], outcome="declined")
    yield w.between(5 * _SECOND, 20 * _SECOND)
    return True


def _act_withdraw(w: _World, p: _Player) -> Flow:
    yield from _withdraw(w, p)
    return False


def _act_withdraw_cancel(w: _World, p: _Player) -> Flow:
    yield from _withdraw(w, p, cancel=True)
    return True


def _act_sar(w: _World, p: _Player) -> Flow:
    return (yield from _review(w, p, sar=True))


def _act_case(w: _World, p: _Player) -> Flow:
    return (yield from _review(w, p, sar=False))


_ACTIONS: Final[dict[str, Callable[[_World, _Player], Flow]]] = {
    "chargeback": _chargeback, "refund": _refund, "aml_sar": _act_sar, "aml_case": _act_case,
    "self_exclude": _self_exclude, "scheme_match": _scheme_match, "timeout": _timeout,
    "intervention": _call, "limit_change": _raise_limit, "withdraw": _act_withdraw,
    "withdraw_cancel": _act_withdraw_cancel, "deposit_declined": _act_declined, "reload_bonus": _act_reload,
}  # fmt: skip

# (action, chance per player, earliest round, latest round) for unscripted players
_RANDOM_ACTIONS: Final = (
    ("chargeback", 0.002, 5, 60), ("refund", 0.003, 1, 5), ("aml_case", 0.01, 5, 80),
    ("aml_sar", 0.002, 5, 80), ("self_exclude", 0.003, 10, 150), ("scheme_match", 0.002, 1, 20),
    ("timeout", 0.01, 10, 150), ("intervention", 0.02, 20, 150), ("limit_change", 0.03, 5, 100),
    ("withdraw_cancel", 0.02, 10, 100), ("deposit_declined", 0.05, 0, 50), ("reload_bonus", 0.05, 10, 100),
)  # fmt: skip


def _session(w: _World, p: _Player) -> Flow:
    p.sessions += 1
    p.game = w.rng.choice(list(w.games))
    for _ in range(w.between(15, 120)):
        action = p.plan.pop(p.rounds, None)
        if action in _ACTIONS:
            if not (yield from _ACTIONS[action](w, p)) or p.done:
                return not p.done
            action = None
        if p.balance < p.bet and not (yield from _top_up(w, p)):
            break
        yield from _round(w, p, action)
        p.rounds += 1
        yield w.between(1500, 6000)
    if p.balance >= p.market.deposits[2] and w.chance(0.4):
        yield from _withdraw(w, p)
    return True


def _life(w: _World, p: _Player, limits: bool) -> Story:
    if not (yield from _register(w, p)):
        return
    if limits:
        _registration_limits(w, p, session_time=p.index < len(_SCRIPTED))
    for _ in range(w.between(1, 4)):
        if not (yield from _session(w, p)):
            return
        yield max(w.between(_HOUR, 10 * _HOUR), p.paused_until - w.now)
    if p.bonus is not None:
        yield 7 * _DAY
        _forfeit(w, p, "expired", _SYSTEM)


@dataclass(frozen=True)
class _Script:
    """A scripted early player, so that every kind of event occurs early in the history."""

    market: int
    method: str
    plan: dict[int, str]
    legacy_kyc: bool = False
    kyc: str = "pass"
    bonus: str | None = None
    bet: int = 1
    limits: bool = False


_SCRIPTED: Final = (
    _Script(0, "card", {3: "jackpot"}, legacy_kyc=True),
    _Script(0, "card", {4: "chargeback"}, legacy_kyc=True),
    _Script(0, "crypto", {1: "aml_sar", 6: "withdraw"}, bet=3),
    _Script(0, "bank_transfer", {1: "rollback", 3: "retry", 5: "limit_change"}, limits=True),
    _Script(1, "card", {2: "scheme_match"}),
    _Script(0, "e_wallet", {3: "withdraw_cancel", 5: "aml_case"}, bonus="welcome"),
    _Script(2, "card", {4: "self_exclude"}),
    _Script(0, "card", {2: "intervention", 5: "timeout"}),
    _Script(0, "card", {0: "reload_bonus", 2: "free_spins"}, bet=4),
    _Script(0, "card", {0: "deposit_declined", 1: "refund"}, kyc="request_info"),
    _Script(0, "card", {}, kyc="fail"),
)


def _scripted(index: int) -> tuple[_Player, bool]:
    s = _SCRIPTED[index]
    market = _MARKETS[s.market]
    p = _Player(f"plr-{index + 1:06d}", index, market, market.bets[s.bet], s.method, dict(s.plan),
                legacy_kyc=s.legacy_kyc, kyc_outcome=s.kyc, bonus_kind=s.bonus)  # fmt: skip
    return p, s.limits


def _random_player(w: _World, index: int) -> tuple[_Player, bool]:
    rng = w.rng
    draw = rng.randrange(_MARKET_WEIGHTS[-1])
    market = _MARKETS[next(i for i, cum in enumerate(_MARKET_WEIGHTS) if draw < cum)]
    plan: dict[int, str] = {}
    for action, chance, low, high in _RANDOM_ACTIONS:
        if w.chance(chance):
            plan.setdefault(rng.randint(low, high), action)
    p = _Player(
        f"plr-{index + 1:06d}", index, market, rng.choice(market.bets),
        rng.choice(("card", "card", "card", "bank_transfer", "e_wallet", "crypto")), plan,
        legacy_kyc=w.chance(0.1), kyc_outcome=rng.choice(_KYC_OUTCOMES),
        bonus_kind="welcome" if w.chance(0.4) else None,
    )  # fmt: skip
    return p, w.chance(0.3)


def _arrivals(w: _World) -> Story:
    for index in itertools.count():
        p, limits = _scripted(index) if index < len(_SCRIPTED) else _random_player(w, index)
        w.spawn(_life(w, p, limits))
        yield w.between(500, 3000) if index < len(_SCRIPTED) else w.between(4000, 12000)
