"""A deterministic synthetic operator history, as the wire events producers would submit.

``demo_events(count, seed=...)`` tells one story: certified game releases, operators
configuring bonus rules, players registering (KYC), depositing, playing rounds with
jackpots and free spins, wagering bonuses off, withdrawing, being flagged by AML, setting
limits and excluding themselves, plus admin activity and an RNG incident.

Determinism: the only source of randomness is one ``random.Random(seed)`` and the clock
is simulated, so one seed always yields byte-identical events. Stories are generators
that emit events through :class:`_World` and yield how many milliseconds to wait; a heap
resumes them in time order and the clock advances at least 1 ms per event, so
``occurred_at`` strictly increases globally and therefore on every stream. Money is kept
in integer minor units and rendered with the currency's ISO-4217 scale; each wallet's
``balance_before``/``balance_after`` chain is exact.

The module is long because the story is: small per-flow generators, no shared machinery
beyond the world and the player.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import msgspec

from ledger.catalogue.types import CURRENCY_SCALE, Timestamp

Json = dict[str, Any]
Story = Generator[int, None, None]
Flow = Generator[int, None, bool]
Actor = tuple[str, str]

_SECOND: Final = 1000
_MINUTE: Final = 60 * _SECOND
_HOUR: Final = 60 * _MINUTE
_DAY: Final = 24 * _HOUR
_TS_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"
_EPOCH: Final = Timestamp(1970, 1, 1, tzinfo=dt.UTC)
_UUID_CLEAR: Final = ((1 << 128) - 1) ^ ((0xF << 76) | (0x3 << 62))
_UUID_SET: Final = (0x4 << 76) | (0x2 << 62)

_CASHIER: Final = ("service", "svc-cashier")
_WALLET: Final = ("service", "svc-wallet")
_GAMES: Final = ("service", "svc-game-engine")
_JACKPOTS: Final = ("service", "svc-jackpot")
_KYC: Final = ("service", "svc-kyc")
_AML: Final = ("service", "svc-aml")
_RG: Final = ("service", "svc-rg")
_BONUS: Final = ("service", "svc-bonus")
_RELEASES: Final = ("service", "svc-release-pipeline")
_RNG_MONITOR: Final = ("service", "svc-rng-monitor")
_SYSTEM: Final = ("system", "scheduler")
_ANNA: Final = ("operator", "op-anna")
_MARCO: Final = ("operator", "op-marco")
_LENA: Final = ("operator", "op-lena")
_SOFIA: Final = ("operator", "op-sofia")
_MLRO: Final = ("operator", "op-mlro")
_IAM: Final = ("service", "svc-iam")


@dataclass(frozen=True)
class _Market:
    """A licence the operator serves players under, with its currency and authorities."""

    jurisdiction: str
    currency: str
    weight: int
    bets: tuple[int, ...]
    deposits: tuple[int, ...]
    fiu: str
    exclusion_scheme: str
    phone: str
    iban: str
    cities: tuple[str, ...]


_MARKETS: Final = (
    _Market("MT", "EUR", 80, (20, 50, 100, 200, 500), (1000, 2000, 2500, 5000, 10000, 20000),
            "FIAU", "MGA-OPERATOR", "+356 79", "MT84MALT01100001", ("Sliema", "Valletta", "St Julian's")),
    _Market("GB", "GBP", 12, (10, 20, 50, 100, 200), (1000, 2000, 5000, 10000),
            "NCA", "GAMSTOP", "+44 7700", "GB29NWBK601613", ("London", "Leeds", "Bristol")),
    _Market("DK", "DKK", 8, (200, 500, 1000, 2000), (10000, 20000, 50000, 100000),
            "DK-FIU", "ROFUS", "+45 20", "DK500040", ("Copenhagen", "Aarhus", "Odense")),
)  # fmt: skip
_MARKET_WEIGHTS: Final = tuple(itertools.accumulate(m.weight for m in _MARKETS))

# (code, provider, progressive jackpot, theoretical RTP, test lab)
_GAME_SPECS: Final = (
    ("aurora-reels", "nordlight", False, "0.9612", "GLI"),
    ("pharaoh-gold", "sandstone", False, "0.9550", "BMM"),
    ("dragon-jackpot", "redpeak", True, "0.9400", "GLI"),
    ("mega-fortune-drop", "nordlight", True, "0.9350", "eCOGRA"),
    ("lucky-sevens", "classicplay", False, "0.9700", "iTechLabs"),
    ("viking-quest", "redpeak", False, "0.9630", "BMM"),
)
_JACKPOT_SEED: Final = 1_000_000  # minor units every pool restarts from after a win
_JACKPOT_CHANCE: Final = 0.00005  # per jackpot-game round, besides the scripted win
_MAX_DEPOSITS: Final = 6  # per player, over their whole life
# (cumulative probability, special) per unscripted round
_ROUND_SPECIALS: Final = ((0.015, "free_spins"), (0.017, "retry"), (0.018, "rollback"))
_KYC_OUTCOMES: Final = ("pass",) * 47 + ("request_info",) * 2 + ("fail",)

# Win multipliers in tenths of the bet with cumulative probabilities (RTP about 95 %).
_PAYTABLE: Final = (
    (0.700, 0, "no win"), (0.800, 5, "2 of a kind"), (0.880, 10, "3 of a kind"),
    (0.940, 20, "4 of a kind"), (0.980, 50, "5 of a kind"), (0.995, 100, "scatter x3"),
    (0.999, 500, "wild line"), (1.000, 2000, "mega win"),
)  # fmt: skip

_PSP: Final = {"card": "adyen", "bank_transfer": "trustly", "e_wallet": "skrill", "crypto": "coinspaid"}
_FIRST: Final = ("Maria", "Luca", "Anna", "James", "Sofie", "Mikkel", "Emma", "Oliver", "Giulia")
_LAST: Final = ("Borg", "Camilleri", "Smith", "Jensen", "Nielsen", "Farrugia", "Brown", "Rossi")


@dataclass
class _Game:
    code: str
    provider: str
    jackpot: bool
    rtp: str
    lab: str
    version_hash: str = ""
    enabled: bool = True


@dataclass
class _Bonus:
    bonus_id: str
    amount: int
    required: int
    wagered: int = 0


@dataclass
class _Player:
    """One player's state; ``balance`` is the wallet in minor units."""

    ref: str
    index: int
    market: _Market
    bet: int
    method: str
    plan: dict[int, str]
    legacy_kyc: bool = False
    kyc_outcome: str = "pass"
    bonus_kind: str | None = None
    balance: int = 0
    deposited: int = 0
    deposits: list[tuple[str, int]] = field(default_factory=list)
    bonus: _Bonus | None = None
    rounds: int = 0
    done: bool = False
    paused_until: int = 0
    aml_flagged: bool = False
    limit_id: str | None = None
    deposit_limit: int | None = None
    sessions: int = 0
    game: str = ""
    address: str = ""

    def money(self, minor: int) -> Json:
        """Render ``minor`` units of the player's currency in wire form."""
        return _money(minor, self.market.currency)

    @property
    def name(self) -> tuple[str, str]:
        """The player's first and last name."""
        return _FIRST[self.index % len(_FIRST)], _LAST[(self.index // len(_FIRST)) % len(_LAST)]

    @property
    def iban(self) -> str:
        """The player's bank account, in the market's IBAN format."""
        return f"{self.market.iban}{self.index:010d}"

    @property
    def wallet(self) -> str:
        """The player's wallet stream."""
        return f"Wallet:{self.ref}"

    @property
    def stream(self) -> str:
        """The player's own stream (KYC, RG, AML alerts)."""
        return f"Player:{self.ref}"


def _money(minor: int, currency: str) -> Json:
    scale = CURRENCY_SCALE[currency]
    if scale == 0:
        return {"amount": str(minor), "currency": currency}
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 10**scale)
    return {"amount": f"{sign}{units}.{cents:0{scale}d}", "currency": currency}


class _World:
    """The simulated clock, the shared state, the story scheduler and the event sink."""

    def __init__(self, seed: int, start_ms: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self.now = start_ms - 1
        self.out: list[Json] = []
        self.games: dict[str, _Game] = {}
        self.pools: dict[str, int] = {}
        self.bonus_rules: dict[str, _Rule] = {}
        self.grantable: list[str] = []
        self.incident: dict[str, str] = {}
        self._heap: list[tuple[int, int, Story]] = []
        self._seq = itertools.count()
        self._ids: dict[str, itertools.count[int]] = {}
        self._second = -1
        self._prefix = ""

    def spawn(self, story: Story, delay: int = 0) -> None:
        """Start ``story`` ``delay`` ms from now."""
        heapq.heappush(self._heap, (self.now + delay, next(self._seq), story))

    def run(self) -> Iterator[Json]:
        """Resume stories in time order and yield what they emit, forever."""
        heap = self._heap
        while heap:
            at, _, story = heapq.heappop(heap)  # before resuming: the story may spawn others
            self.now = max(self.now, at - 1)
            delay = next(story, None)
            if delay is not None:
                heapq.heappush(heap, (self.now + delay, next(self._seq), story))
            if self.out:
                yield from self.out
                self.out.clear()

    def emit(
        self, etype: str, stream: str, payload: Json, actor: Actor, trace: str,
        jurisdiction: str = "MT", version: int = 1,
    ) -> str:  # fmt: skip
        """Record one event 1 ms after the previous one and return its event_id."""
        self.now = now = self.now + 1
        second, millis = divmod(now, _SECOND)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime(_TS_FORMAT, time.gmtime(second))
        event_id = self.uuid()
        self.out.append({
            "event_id": event_id, "type": etype, "schema_version": version, "stream": stream,
            "occurred_at": f"{self._prefix}.{millis:03d}Z",
            "actor": {"kind": actor[0], "id": actor[1]}, "trace_id": trace,
            "jurisdiction": jurisdiction, "payload": payload,
        })  # fmt: skip
        return event_id

    def uuid(self) -> str:
        """A random (version 4) UUID drawn from the seeded generator."""
        h = f"{self.rng.getrandbits(128) & _UUID_CLEAR | _UUID_SET:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def trace(self) -> str:
        """A W3C trace id shared by the events of one flow."""
        return f"{self.rng.getrandbits(128) | 1:032x}"

    def sha256(self) -> str:
        """A random SHA-256-shaped digest (artifact hashes)."""
        return f"{self.rng.getrandbits(256):064x}"

    def ref(self, prefix: str) -> str:
        """The next sequential reference with ``prefix`` (``rnd-0000001``)."""
        counter = self._ids.setdefault(prefix, itertools.count(1))
        return f"{prefix}-{next(counter):07d}"

    def ts(self, offset: int = 0) -> str:
        """The wire timestamp ``offset`` ms from now."""
        at = self.now + offset
        return f"{time.strftime(_TS_FORMAT, time.gmtime(at // _SECOND))}.{at % _SECOND:03d}Z"

    def chance(self, probability: float) -> bool:
        """Draw whether something with ``probability`` happens."""
        return self.rng.random() < probability

    def between(self, low: int, high: int) -> int:
        """A random delay in [low, high] ms."""
        return self.rng.randint(low, high)


# --- payments and wallet -------------------------------------------------------------


def _wallet(w: _World, p: _Player, kind: str, amount: int, reason: str, reference: str, trace: str) -> None:
    before = p.balance
    p.balance = after = before + amount if kind == "wallet.credited" else before - amount
    payload = {
        "player_ref": p.ref, "amount": p.money(amount), "balance_before": p.money(before),
        "balance_after": p.money(after), "reason": reason, "reference": reference,
        "wallet_id": f"wal-{p.ref}",
    }  # fmt: skip
    w.emit(kind, p.wallet, payload, _WALLET, trace, p.market.jurisdiction)


def _pay(
    w: _World, p: _Player, etype: str, txn: str, amount: int, trace: str,
    actor: Actor = _CASHIER, **extra: Any,
) -> None:  # fmt: skip
    payload = {"txn_id": txn, "player_ref": p.ref, "amount": p.money(amount), **extra}
    w.emit(etype, f"Payment:{txn}", payload, actor, trace, p.market.jurisdiction)


def _instrument(p: _Player) -> Json:
    """The sealed personal details of the player's payment instrument."""
    if p.method == "card":
        return {"card_holder_name": " ".join(p.name).upper()}
    if p.method == "bank_transfer":
        return {"iban": p.iban}
    return {}


def _deposit(w: _World, p: _Player, amount: int, outcome: str = "settled") -> Flow:
    txn, trace, psp = w.ref("dep"), w.trace(), _PSP[p.method]
    if p.deposit_limit is not None and p.deposited + amount > p.deposit_limit:
        _pay(w, p, "payment.deposit_cancelled", txn, amount, trace, psp=psp, reason="limit_exceeded")
        return False
    if p.method == "crypto" and not p.address:
        yield from _kyt(w, p)
    _pay(w, p, "payment.deposit_authorized", txn, amount, trace, psp=psp, method=p.method,
         psp_reference=f"auth-{txn}", **_instrument(p))  # fmt: skip
    yield w.between(800, 4000)
    if outcome != "settled":
        _pay(w, p, "payment.deposit_cancelled", txn, amount, trace, psp=psp, reason=outcome,
             detail="3-D Secure not completed")  # fmt: skip
        return False
    _pay(w, p, "payment.deposit_captured", txn, amount, trace, psp=psp, psp_reference=f"psp-{txn}")
    yield w.between(300, 1500)
    _pay(w, p, "payment.deposit_settled", txn, amount, trace, psp=psp, psp_reference=f"psp-{txn}",
         fee=p.money(amount // 100), settlement_batch=f"batch-{w.now // _HOUR}")  # fmt: skip
    _wallet(w, p, "wallet.credited", amount, "deposit", txn, trace)
    p.deposited += amount
    p.deposits.append((txn, amount))
    return True


def _kyt(w: _World, p: _Player) -> Flow:
    p.address = f"bc1q{w.sha256()[:38]}"
    payload = {"player_ref": p.ref, "screening_id": w.ref("kyt"), "chain": "BTC", "address": p.address,
               "provider": "chainalysis", "risk_score": w.between(50, 400), "categories": ["exchange"],
               "screened_at": w.ts()}  # fmt: skip
    w.emit("kyt.address_screened", p.stream, payload, _KYC, w.trace(), p.market.jurisdiction)
    yield w.between(500, 2000)
    return True


def _withdraw(w: _World, p: _Player, cancel: bool = False) -> Flow:
    txn, trace, amount = w.ref("wdr"), w.trace(), p.balance
    if amount <= 0:
        return False
    _forfeit(w, p, "withdrawal")
    destination = {"crypto_address": p.address} if p.method == "crypto" else _instrument(p)
    destination.pop("card_holder_name", None)
    _pay(w, p, "payment.withdrawal_requested", txn, amount, trace, method=p.method, psp=_PSP[p.method],
         **destination)  # fmt: skip
    _wallet(w, p, "wallet.debited", amount, "withdrawal", txn, trace)
    yield w.between(5 * _SECOND, 60 * _SECOND)
    if cancel:
        _pay(w, p, "payment.withdrawal_cancelled", txn, amount, trace, reason="player",
             detail="player reversed the withdrawal")  # fmt: skip
        _wallet(w, p, "wallet.credited", amount, "withdrawal", txn, trace)
        return False
    yield from _payout(w, p, txn, amount, trace)
    return True


def _payout(w: _World, p: _Player, txn: str, amount: int, trace: str) -> Flow:
    psp = _PSP[p.method]
    if amount >= 2 * p.market.deposits[-1]:  # large payouts need a second pair of eyes
        _pay(w, p, "payment.withdrawal_authorized", txn, amount, trace, _MARCO, psp=psp, approval="manual",
             approved_by=_MARCO[1])  # fmt: skip
    else:
        _pay(w, p, "payment.withdrawal_authorized", txn, amount, trace, psp=psp, approval="automatic")
    yield w.between(2 * _SECOND, 30 * _SECOND)
    _pay(w, p, "payment.withdrawal_settled", txn, amount, trace, psp=psp, psp_reference=f"po-{txn}",
         fee=p.money(0))  # fmt: skip
    return True


def _refund(w: _World, p: _Player) -> Flow:
    (txn, deposited), trace = p.deposits[-1], w.trace()
    amount = min(p.balance, deposited)
    if amount <= 0:
        return False
    _pay(w, p, "payment.deposit_refunded", txn, amount, trace, _MARCO, psp=_PSP[p.method],
         reason="deposit made by mistake; refunded on request", psp_reference=f"rf-{txn}",
         refunded_by=_MARCO[1])  # fmt: skip
    _wallet(w, p, "wallet.debited", amount, "refund", txn, trace)
    yield w.between(1000, 3000)
    return True


def _chargeback(w: _World, p: _Player) -> Flow:
    (txn, amount), trace = p.deposits[0], w.trace()
    _pay(w, p, "payment.chargeback_received", txn, amount, trace, chargeback_id=w.ref("cb"),
         psp=_PSP[p.method], reason_code="10.4")  # fmt: skip
    # The scheme takes the money back even if it was played: the wallet may go negative.
    _wallet(w, p, "wallet.debited", amount, "chargeback", txn, trace)
    yield w.between(1000, 5000)
    alert = _alert(w, p, "payments", ["PAY-CHARGEBACK"], 820, "card chargeback (fraud) on a played deposit")
    _decision(w, p, None, "block", 820, [f"chargeback on {txn}", f"alert {alert}"], rules=("PAY-CHARGEBACK",))
    p.done = True
    return True


# --- game rounds and jackpots --------------------------------------------------------


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
        _wager(w, p, r)


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


# --- bonuses ---------------------------------------------------------------------------


@dataclass
class _Rule:
    rule_id: str
    config: Json
    percent: int
    max_bonus: int
    multiplier: int


def _eur(minor: int) -> Json:
    return _money(minor, "EUR")


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


def _wager(w: _World, p: _Player, r: _Round) -> None:
    bonus = p.bonus
    if bonus is None:
        return
    bonus.wagered += r.bet
    stream, jur = f"Bonus:{bonus.bonus_id}", p.market.jurisdiction
    payload = {"bonus_id": bonus.bonus_id, "player_ref": p.ref, "round_id": r.round_id,
               "contributed": p.money(r.bet), "wagered_total": p.money(bonus.wagered),
               "wagering_required": p.money(bonus.required)}  # fmt: skip
    w.emit("bonus.wagering_progressed", stream, payload, _BONUS, r.trace, jur)
    if bonus.wagered >= bonus.required:
        payload = {"bonus_id": bonus.bonus_id, "player_ref": p.ref, "amount": p.money(bonus.amount)}
        w.emit("bonus.converted", stream, payload, _BONUS, r.trace, jur)
        _wallet(w, p, "wallet.credited", bonus.amount, "bonus", bonus.bonus_id, r.trace)
        p.bonus = None


def _forfeit(w: _World, p: _Player, reason: str, actor: Actor = _BONUS) -> None:
    bonus = p.bonus
    if bonus is None:
        return
    payload = {"bonus_id": bonus.bonus_id, "player_ref": p.ref, "amount": p.money(bonus.amount),
               "reason": reason}  # fmt: skip
    w.emit("bonus.forfeited", f"Bonus:{bonus.bonus_id}", payload, actor, w.trace(), p.market.jurisdiction)
    p.bonus = None


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


# --- responsible gaming ------------------------------------------------------------------


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


# --- operations: releases, bonus configuration, administration, incidents -------------


def _release(w: _World, game: _Game) -> str:
    previous = game.version_hash or None
    game.version_hash = w.sha256()
    release = w.ref("rel")
    payload = {"game_code": game.code, "game_version_hash": game.version_hash, "release_id": release,
               "rtp_theoretical": game.rtp, "certificate_ref": f"{game.lab}-{game.code}-{release}",
               "test_lab": game.lab, "jurisdictions": ["MT", "GB", "DK"], "provider": game.provider,
               "previous_version_hash": previous}  # fmt: skip
    w.emit("game.version_released", f"Game:{game.code}", payload, _RELEASES, w.trace())
    return release


def _login(w: _World, user: str, *, success: bool = True) -> None:
    payload = {"user_id": user, "method": "sso" if success else "password",
               "ip_address": f"198.51.100.{w.between(2, 250)}", "success": success, "mfa": success,
               "failure_reason": None if success else "bad_password",
               "user_agent": "Mozilla/5.0"}  # fmt: skip
    w.emit("admin.logged_in", f"Operator:{user}", payload, _IAM, w.trace())


def _setup(w: _World) -> None:
    for code, provider, jackpot, rtp, lab in _GAME_SPECS:
        w.games[code] = game = _Game(code, provider, jackpot, rtp, lab)
        _release(w, game)
    _login(w, _ANNA[1])
    _open_rule(w, "rule-welcome", "Welcome 100%", "deposit_match", 30, 100, 20000,
               min_deposit=_eur(1000), max_bet_while_wagering=_eur(500))  # fmt: skip
    _open_rule(w, "rule-reload", "Reload 25%", "reload", 3, 25, 5000, min_deposit=_eur(2000))
    _open_rule(w, "rule-weekend-spins", "Weekend spins", "free_spins", 10,
               free_spins=20, eligible_games=["aurora-reels", "viking-quest"])  # fmt: skip
    _open_rule(w, "rule-cashback-legacy", "Legacy cashback", "cashback", 1, 10)
    payload = {"flag": "instant-withdrawals", "enabled": True, "rollout_percent": 25, "jurisdictions": ["MT"],
               "reason": "pilot for verified players"}  # fmt: skip
    w.emit("feature_flag.changed", "FeatureFlag:instant-withdrawals", payload, _ANNA, w.trace())
    payload = {"limit_id": "lim-max-bet", "name": "max_bet_per_round", "value": _eur(10000),
               "previous_value": _eur(5000), "reason": "high-roller tables"}  # fmt: skip
    w.emit("limit.changed", "Limit:lim-max-bet", payload, _ANNA, w.trace())


def _staff(w: _World) -> None:
    _login(w, _MARCO[1], success=False)
    _login(w, _MARCO[1])
    payload = {
        "user_id": _LENA[1],
        "role": "aml_analyst",
        "granted_by": _ANNA[1],
        "reason": "joined compliance",
    }
    w.emit("admin.role_granted", f"Operator:{_LENA[1]}", payload, _ANNA, w.trace())
    _login(w, _LENA[1])


def _welcome_raise(w: _World) -> None:
    _change_rule(w, "rule-welcome", _ANNA, "Q1 campaign: higher cap", max_bonus=_eur(30000))


def _anomaly(w: _World) -> None:
    game = w.games["viking-quest"]
    window = {"start": w.ts(-6 * _HOUR), "end": w.ts(), "rounds": 48210}
    payload = {"game_code": game.code, "game_version_hash": game.version_hash, "metric": "rtp_observed",
               "observed": "0.9934", "expected": game.rtp, "window": window, "detector": "rtp-drift-v3",
               "threshold": "0.0200"}  # fmt: skip
    w.emit("rng.anomaly_detected", f"Game:{game.code}", payload, _RNG_MONITOR, w.trace())
    w.incident.update(id=w.ref("inc"), game=game.code, trace=w.trace())
    payload = {"incident_id": w.incident["id"], "severity": "P2", "title": "RTP drift on viking-quest",
               "summary": "observed RTP 99.34 % against 96.30 % theoretical over 6 hours",
               "affected_games": [game.code], "opened_by": _MARCO[1]}  # fmt: skip
    w.emit("incident.opened", f"Incident:{w.incident['id']}", payload, _MARCO, w.incident["trace"])


def _incident_update(w: _World) -> None:
    w.games[w.incident["game"]].enabled = False
    payload = {"incident_id": w.incident["id"], "severity": "P2", "status": "investigating",
               "summary": "game disabled; MGA notified within 24 hours",
               "affected_games": [w.incident["game"]],
               "regulator_notified": True}  # fmt: skip
    w.emit("incident.updated", f"Incident:{w.incident['id']}", payload, _MARCO, w.incident["trace"])


def _escalate(w: _World) -> None:
    payload = {"user_id": _MARCO[1], "from_role": "payments_operator", "to_role": "payments_admin",
               "reason": "approve the high-value withdrawal queue", "expires_at": w.ts(_HOUR),
               "approved_by": _ANNA[1], "ticket_ref": "CHG-1042"}  # fmt: skip
    w.emit("admin.privilege_escalated", f"Operator:{_MARCO[1]}", payload, _MARCO, w.trace())


def _export(w: _World) -> None:
    payload = {"user_id": _LENA[1], "export_id": w.ref("exp"), "dataset": "player_transactions",
               "record_count": w.between(200, 5000), "purpose": "FIAU request for information",
               "destination": "FIAU secure portal", "file_sha256": w.sha256()}  # fmt: skip
    w.emit("admin.data_exported", f"Operator:{_LENA[1]}", payload, _LENA, w.trace())


def _spins_change(w: _World) -> None:
    _change_rule(w, "rule-weekend-spins", _ANNA, "25 spins for the carnival weekend", free_spins=25)


def _hotfix(w: _World) -> None:
    game = w.games[w.incident["game"]]
    w.incident["release"] = _release(w, game)
    game.enabled = True


def _incident_close(w: _World) -> None:
    payload = {"incident_id": w.incident["id"], "severity": "P2", "title": "RTP drift on viking-quest",
               "summary": f"fixed by release {w.incident['release']}; game re-enabled",
               "root_cause": "reel-strip weights of the bonus reel shipped from the test build",
               "regulator_notified": True, "affected_games": [w.incident["game"]]}  # fmt: skip
    w.emit("incident.closed", f"Incident:{w.incident['id']}", payload, _MARCO, w.incident["trace"])


def _revoke(w: _World) -> None:
    payload = {"user_id": _MARCO[1], "role": "payments_admin", "revoked_by": _ANNA[1],
               "reason": "break-glass window closed"}  # fmt: skip
    w.emit("admin.role_revoked", f"Operator:{_MARCO[1]}", payload, _ANNA, w.trace())


def _retire(w: _World) -> None:
    w.grantable.remove("rule-cashback-legacy")
    payload = {"rule_id": "rule-cashback-legacy", "reason": "replaced by the reload bonus"}
    w.emit("bonus_rule.retired", "BonusRule:rule-cashback-legacy", payload, _ANNA, w.trace())


# (delay in ms after the previous step, step)
_SCRIPT: Final[tuple[tuple[int, Callable[[_World], None]], ...]] = (
    (0, _setup), (15_000, _staff), (15_000, _welcome_raise), (10_000, _anomaly), (8_000, _escalate),
    (10_000, _incident_update), (10_000, _export), (10_000, _spins_change), (15_000, _hotfix),
    (10_000, _incident_close), (10_000, _revoke), (10_000, _retire),
)  # fmt: skip


def _review_welcome(w: _World) -> None:
    cap = _eur(w.rng.choice((20000, 30000)))
    _change_rule(w, "rule-welcome", _ANNA, "weekly cap review", max_bonus=cap)


def _new_version(w: _World) -> None:
    _release(w, w.rng.choice([g for g in w.games.values() if g.enabled]))


def _routine(w: _World) -> None:
    user = w.rng.choice((_ANNA, _MARCO, _LENA, _SOFIA))
    _login(w, user[1], success=w.chance(0.9))
    task = w.rng.choice((_review_welcome, _review_welcome, _export, _export, _new_version, None, None))
    if task is not None:
        task(w)


def _operations(w: _World) -> Story:
    for delay, step in _SCRIPT:
        yield delay
        step(w)
    while True:
        yield w.between(20 * _MINUTE, 60 * _MINUTE)
        _routine(w)


# --- players ---------------------------------------------------------------------------


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


# --- public API --------------------------------------------------------------------------

_ENCODER: Final = msgspec.json.Encoder()


def demo_events(
    count: int, *, seed: int = 7, start: str = "2026-01-05T08:00:00.000Z"
) -> Iterator[dict[str, Any]]:
    """Yield exactly ``count`` events of the synthetic history for ``seed``, in time order.

    Raises:
        ValueError: ``count`` is negative or ``start`` is not an RFC 3339 timestamp.
    """
    if count < 0:
        msg = f"count must be >= 0, got {count}"
        raise ValueError(msg)
    w = _World(seed, (Timestamp.parse(start) - _EPOCH) // dt.timedelta(milliseconds=1))
    w.spawn(_operations(w))
    w.spawn(_arrivals(w), 2 * _SECOND)
    return itertools.islice(w.run(), count)


def demo_ndjson(count: int, *, seed: int = 7, start: str = "2026-01-05T08:00:00.000Z") -> Iterator[bytes]:
    """Yield the same events as :func:`demo_events`, each encoded as one JSON line."""
    encode = _ENCODER.encode
    return (encode(event) + b"\n" for event in demo_events(count, seed=seed, start=start))


T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Split ``items`` into lists of at most ``size`` (the batches the ledger appends)."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk
