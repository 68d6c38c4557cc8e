"""Retention classes: how long WORM storage must keep what an event type is evidence of.

Versioned data plus one pure function. A checkpoint seals a batch of many event types; its
WORM object must outlive the longest-kept of them, so the longest class in the batch wins,
and the receipt records both the winning class and :data:`POLICY_VERSION`.

Classes match event types by prefix (the longest matching prefix wins, so ``rg.limit_``
beats a broader ``rg.``). Periods are minimums the operator's licences commonly demand
(MGA, UKGC, the EU AML directives' five years after the relationship ends, extended by
local law and limitation periods); a jurisdiction needing longer gets a new policy version.
Anything not listed falls under :data:`DEFAULT` (7 years: the usual statutory limitation for
civil claims plus a margin), and ``tests/unit/test_retention.py`` fails when a catalogue type
is unclassified, so a new event type gets a deliberate decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

from ledger.catalogue.types import Timestamp
from ledger.errors import ValidationError

POLICY_VERSION: Final = "retention-2026.2"


class RetentionClass(msgspec.Struct, frozen=True, kw_only=True):
    """A named retention period for event types starting with any of ``prefixes``."""

    name: str
    years: int
    prefixes: tuple[str, ...]
    basis: str


CLASSES: Final[tuple[RetentionClass, ...]] = (
    RetentionClass(
        name="gaming",
        years=10,
        prefixes=("round.", "jackpot."),
        basis="game-round and jackpot records reconstruct disputed play and prize liabilities",
    ),
    RetentionClass(
        name="payments",
        years=10,
        prefixes=("payment.", "wallet."),
        basis="player funds and wallet movements: financial and AML record-keeping",
    ),
    RetentionClass(
        name="aml_kyc",
        years=10,
        prefixes=("kyc.", "kyt.", "aml."),
        basis="customer due diligence, screening and suspicious-activity records",
    ),
    RetentionClass(
        name="game_integrity",
        years=10,
        prefixes=("rng.", "game."),
        basis="RNG anomalies and certified game versions back every round result",
    ),
    RetentionClass(
        name="ledger_anchors",
        years=10,
        prefixes=("anchor.",),
        basis="anchor receipts prove the checkpoints that seal 10-year records",
    ),
    RetentionClass(
        name="player_protection",
        years=10,
        prefixes=("rg.self_exclusion_", "rg.timeout_", "rg.intervention_"),
        basis="self-exclusions may be indefinite; proof of honouring them outlives the exclusion",
    ),
    RetentionClass(
        name="incidents",
        years=5,
        prefixes=("incident.",),
        basis="operational incident records and regulator notifications",
    ),
    RetentionClass(
        name="commercial",
        years=5,
        prefixes=("bonus.", "bonus_rule.", "feature_flag.", "limit.", "rg.limit_"),
        basis="bonus terms, marketing, feature flags and limits",
    ),
    RetentionClass(
        name="admin_security",
        years=7,
        prefixes=("admin.", "access."),
        basis="back-office access and privilege changes, reads of the ledger itself (security audit trail)",
    ),
)

DEFAULT: Final = RetentionClass(
    name="default",
    years=7,
    prefixes=(),
    basis="unclassified event types: statutory limitation period plus margin",
)


def class_of(event_type: str) -> RetentionClass:
    """Return the class whose longest prefix matches ``event_type`` (else :data:`DEFAULT`)."""
    best, length = DEFAULT, 0
    for cls in CLASSES:
        for prefix in cls.prefixes:
            if event_type.startswith(prefix) and len(prefix) > length:
                best, length = cls, len(prefix)
    return best


def retain_until(types: Iterable[str], sealed_at: str) -> tuple[str, str]:
    """Return (retain-until timestamp, winning class name) for a batch sealed at ``sealed_at``.

    The longest class among ``types`` wins (ties: the first in :data:`CLASSES`); an empty
    batch gets :data:`DEFAULT`. The period is added in calendar years; 29 February rolls
    forward to 1 March, never back.

    Raises:
        ValidationError: ``sealed_at`` is not an RFC 3339 timestamp.
    """
    order = {c.name: i for i, c in enumerate(CLASSES)}
    winner = max(
        {class_of(t) for t in types} or {DEFAULT},
        key=lambda c: (c.years, -order.get(c.name, len(order))),
    )
    try:
        start = Timestamp.parse(sealed_at)
    except ValueError as e:
        raise ValidationError(str(e), field="sealed_at") from None
    return _add_years(start, winner.years).canonical(), winner.name


def _add_years(t: Timestamp, years: int) -> Timestamp:
    try:
        return Timestamp.of(t.replace(year=t.year + years))
    except ValueError:  # 29 February in a non-leap target year
        return Timestamp.of(t.replace(year=t.year + years, month=3, day=1))
