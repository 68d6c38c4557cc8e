"""The world every story runs in: clock, ids, actors, the shared state and the wallet.

:class:`_World` is the simulated clock, the seeded random source, the story scheduler and
the event sink; :class:`_Player` is one player's state. The state types that several
sections change (:class:`_Game`, :class:`_Bonus`, :class:`_Rule`) live here too, with the
helpers every section uses: :func:`_money` / :func:`_eur` and :func:`_wallet`, which keeps
each wallet's ``balance_before``/``balance_after`` chain exact. This module imports no
other section, so every section can import it.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from infra.demo.markets import _FIRST, _LAST, _Market
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


@dataclass
class _Game:
    """A certified game: its provider and terms, the current release and whether it is enabled."""

    code: str
    provider: str
    jackpot: bool
    rtp: str
    lab: str
    version_hash: str = ""
    enabled: bool = True


@dataclass
class _Bonus:
    """A player's active bonus: its amount and the wagering required and done (minor units)."""

    bonus_id: str
    amount: int
    required: int
    wagered: int = 0


@dataclass
class _Rule:
    """A bonus rule: its wire config and the terms a grant reads (match percent, cap, multiplier)."""

    rule_id: str
    config: Json
    percent: int
    max_bonus: int
    multiplier: int


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


def _eur(minor: int) -> Json:
    return _money(minor, "EUR")


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


def _wallet(w: _World, p: _Player, kind: str, amount: int, reason: str, reference: str, trace: str) -> None:
    before = p.balance
    p.balance = after = before + amount if kind == "wallet.credited" else before - amount
    payload = {
        "player_ref": p.ref, "amount": p.money(amount), "balance_before": p.money(before),
        "balance_after": p.money(after), "reason": reason, "reference": reference,
        "wallet_id": f"wal-{p.ref}",
    }  # fmt: skip
    w.emit(kind, p.wallet, payload, _WALLET, trace, p.market.jurisdiction)
