"""Game rounds and jackpots: bet, outcome, wins, free spins, retries, rollbacks, pool contributions.

A :class:`_Round` numbers the steps of one ``Round:<id>`` stream; a bet made while a bonus
is active counts towards its wagering through :func:`~infra.demo.bonus._wager`.
"""

from __future__ import annotations

from typing import Any

from infra.demo.bonus import _wager
from infra.demo.markets import _JACKPOT_CHANCE, _JACKPOT_SEED, _PAYTABLE, _ROUND_SPECIALS
from infra.demo.world import _GAMES, _JACKPOTS, _SECOND, Flow, _Game, _Player, _wallet, _World


class _Round:
    """One round in progress: its stream, next step number and totals."""

    __slots__ = ("bet", "game", "p", "pool", "round_id", "spins", "step", "stream", "trace", "w", "win")

    def __init__(self, w: _World, p: _Player, game: _Game) -> None:
        self.w, self.p, self.game = w, p, game
        self.round_id = w.ref("rnd")
        self.stream = f"Round:{self.round_id}"
        self.trace = w.trace()
        self.pool = f"jp-{game.code}-{p.market.currency.lower()}" if game.jackpot else None
        self.step = self.bet = self.win = self.spins = 0

    def emit(self, etype: str, **fields: Any) -> str:
        """Record the round's next step."""
        payload = {
            "round_id": self.round_id, "step": self.step, "player_ref": self.p.ref,
            "game_code": self.game.code, **fields,
        }  # fmt: skip
        self.step += 1
        return self.w.emit(etype, self.stream, payload, _GAMES, self.trace, self.p.market.jurisdiction)

    def outcome(self, stake: int, phase: str, **extra: Any) -> tuple[str, int]:
        """Draw an outcome for ``stake``; return the event id and the win in minor units."""
        x = self.w.rng.random()
        mult, summary = next((m, s) for cum, m, s in _PAYTABLE if x < cum)
        win = stake * mult // 10
        event_id = self.emit(
            "round.outcome_determined", game_version_hash=self.game.version_hash,
            rng_draw_ref=self.w.ref("draw"), outcome_summary=summary,
            win_amount=self.p.money(win), phase=phase, **extra,
        )  # fmt: skip
        return event_id, win


def _pick_game(w: _World, p: _Player, special: str | None) -> _Game:
    game = w.games[p.game]
    if special == "jackpot":
        return w.rng.choice([g for g in w.games.values() if g.jackpot and g.enabled])
    if special in {"rollback", "retry"} or not game.enabled:
        return w.rng.choice([g for g in w.games.values() if not g.jackpot and g.enabled])
    return game


def _round(w: _World, p: _Player, special: str | None) -> Flow:
    if special is None:
        special = _round_special(w)
    if special == "rollback" and p.bonus is not None:
        special = None
    r = _Round(w, p, _pick_game(w, p, special))
    bonus_id = p.bonus.bonus_id if p.bonus else None
    r.emit("round.started", game_version_hash=r.game.version_hash, session_id=f"ses-{p.ref}-{p.sessions}",
           jackpot_pool_id=r.pool, bonus_id=bonus_id)  # fmt: skip
    yield w.between(20, 80)
    _place_bet(w, p, r)
    yield w.between(150, 900)
    if special == "rollback":
        yield from _rollback(w, p, r)
        return True
    if special == "retry":
        r.emit(
            "round.retried",
            operation="outcome",
            attempt=1,
            reason="RNG service timed out; draw requested again",
        )
        yield w.between(500, 2000)
    yield from _play_out(w, p, r, special)
    return True


def _round_special(w: _World) -> str | None:
    x = w.rng.random()
    return next((special for cum, special in _ROUND_SPECIALS if x < cum), None)


def _place_bet(w: _World, p: _Player, r: _Round) -> None:
    before, r.bet = p.balance, p.bet
    _wallet(w, p, "wallet.debited", p.bet, "bet", r.round_id, r.trace)
    r.emit("round.bet_placed", bet_amount=p.money(p.bet), balance_before=p.money(before),
           balance_after=p.money(p.balance), bonus_flag=p.bonus is not None,
           jackpot_pool_id=r.pool)  # fmt: skip
    if r.pool is not None:
        share = max(1, p.bet // 100)
        w.pools[r.pool] = pool = w.pools.get(r.pool, _JACKPOT_SEED) + share
        payload = {"jackpot_pool_id": r.pool, "round_id": r.round_id, "game_code": r.game.code,
                   "amount": p.money(share), "pool_after": p.money(pool)}  # fmt: skip
        w.emit("jackpot.contributed", f"Jackpot:{r.pool}", payload, _JACKPOTS, r.trace, p.market.jurisdiction)
    if p.bonus is not None:
        _wager(w, p, r.round_id, r.bet, r.trace)


def _play_out(w: _World, p: _Player, r: _Round, special: str | None) -> Flow:
    hit = r.pool is not None and (special == "jackpot" or w.chance(_JACKPOT_CHANCE))
    free_spins = special == "free_spins"
    outcome_id, win = r.outcome(
        r.bet, "base", triggers_phase="free_spins" if free_spins else None, jackpot_hit=hit
    )
    if win:
        _record_win(w, p, r, win, "base")
    if free_spins:
        yield from _free_spins(w, p, r)
    yield w.between(20, 80)
    r.emit("round.settled", technical_status="retry" if special == "retry" else "success",
           total_bet=p.money(r.bet), total_win=p.money(r.win), balance_after=p.money(p.balance),
           free_spins_played=r.spins)  # fmt: skip
    if hit and r.pool is not None:
        yield from _jackpot(w, p, r, r.pool, outcome_id)
    return True


def _record_win(w: _World, p: _Player, r: _Round, win: int, phase: str) -> None:
    before = p.balance
    _wallet(w, p, "wallet.credited", win, "win", r.round_id, r.trace)
    r.win += win
    r.emit("round.win_recorded", win_amount=p.money(win), balance_before=p.money(before),
           balance_after=p.money(p.balance), phase=phase)  # fmt: skip


def _free_spins(w: _World, p: _Player, r: _Round) -> Flow:
    spins = w.rng.choice((5, 8, 10))
    r.emit("round.bonus_phase_entered", phase="free_spins", spins_awarded=spins, trigger="3 scatters")
    for _ in range(spins):
        yield w.between(700, 1500)
        _, win = r.outcome(r.bet, "free_spins")
        if win:
            _record_win(w, p, r, win, "free_spins")
    r.spins = spins
    return True


def _rollback(w: _World, p: _Player, r: _Round) -> Flow:
    yield w.between(3000, 8000)
    before, refund = p.balance, r.bet
    _wallet(w, p, "wallet.credited", refund, "refund", r.round_id, r.trace)
    r.emit("round.rolled_back", reason="game server did not answer before the outcome; stake returned",
           refunded_amount=p.money(refund), balance_before=p.money(before),
           balance_after=p.money(p.balance))  # fmt: skip
    r.bet = 0
    r.emit("round.settled", technical_status="rollback", total_bet=p.money(0), total_win=p.money(0),
           balance_after=p.money(p.balance))  # fmt: skip
    return True


def _jackpot(w: _World, p: _Player, r: _Round, pool: str, outcome_id: str) -> Flow:
    amount, stream, jur = w.pools.get(pool, _JACKPOT_SEED), f"Jackpot:{pool}", p.market.jurisdiction
    w.pools[pool] = _JACKPOT_SEED
    payload = {"jackpot_pool_id": pool, "round_id": r.round_id, "player_ref": p.ref,
               "game_code": r.game.code, "trigger_event_id": outcome_id, "amount": p.money(amount),
               "pool_reset_to": p.money(_JACKPOT_SEED)}  # fmt: skip
    trigger_id = w.emit("jackpot.triggered", stream, payload, _JACKPOTS, r.trace, jur)
    yield w.between(2 * _SECOND, 10 * _SECOND)
    payout = w.ref("jpp")
    payload = {"jackpot_pool_id": pool, "round_id": r.round_id, "trigger_event_id": trigger_id,
               "payout_tx_id": payout, "amount": p.money(amount), "player_ref": p.ref}  # fmt: skip
    w.emit("jackpot.paid", stream, payload, _JACKPOTS, r.trace, jur)
    _wallet(w, p, "wallet.credited", amount, "jackpot", payout, r.trace)
    return True
