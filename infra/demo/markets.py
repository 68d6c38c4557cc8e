"""What the synthetic operator offers: its markets, its games, the paytable, the odds of each story.

Pure data (and the one frozen :class:`_Market` record): every other module of the package
reads these, none of them is changed while the history runs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final


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
