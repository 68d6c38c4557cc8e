"""Game rounds step by step, progressive jackpots, and certified game releases.

Every round event carries ``step``, its position within the round (0 for
``round.started``); ``round_id`` + ``step`` is the round's natural deduplication key.
RNG outcomes are recorded by reference to the RNG service's draw, never by seed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from ledger.catalogue.registry import Payload, event
from ledger.catalogue.types import Code, Jurisdiction, Money, NonNegativeInt, Ref, Sha256Hex, Text

BonusPhase = Literal["free_spins", "bonus_game", "pick"]
Phase = Literal["base", "free_spins", "bonus_game", "pick"]


class _RoundStep(Payload, frozen=True, kw_only=True):
    """Fields every round event carries."""

    round_id: Ref
    step: NonNegativeInt
    player_ref: Ref
    game_code: Code


@event("round.started", entities=("Round",))
class RoundStarted(_RoundStep, frozen=True, kw_only=True):
    """A player started a round of a certified game version."""

    game_version_hash: Sha256Hex
    session_id: Ref | None = None
    jackpot_pool_id: Ref | None = None
    bonus_id: Ref | None = None


@event("round.bet_placed", entities=("Round",))
class RoundBetPlaced(_RoundStep, frozen=True, kw_only=True):
    """A stake was placed in the round."""

    bet_amount: Money
    balance_before: Money
    balance_after: Money
    # True when the stake counts towards an active bonus's wagering requirement.
    bonus_flag: bool = False
    phase: Phase = "base"
    jackpot_pool_id: Ref | None = None


@event("round.outcome_determined", entities=("Round",))
class RoundOutcomeDetermined(_RoundStep, frozen=True, kw_only=True):
    """The RNG determined the outcome of a step (a draw reference, never the seed)."""

    game_version_hash: Sha256Hex
    rng_draw_ref: Ref
    outcome_summary: Text
    win_amount: Money
    phase: Phase = "base"
    triggers_phase: BonusPhase | None = None
    jackpot_hit: bool = False


@event("round.win_recorded", entities=("Round",))
class RoundWinRecorded(_RoundStep, frozen=True, kw_only=True):
    """A win was credited for the round."""

    win_amount: Money
    balance_before: Money
    balance_after: Money
    bonus_flag: bool = False
    phase: Phase = "base"


@event("round.settled", entities=("Round",))
class RoundSettled(_RoundStep, frozen=True, kw_only=True):
    """The round closed with its totals; technical_status says how it ended."""

    technical_status: Literal["success", "rollback", "retry"]
    total_bet: Money
    total_win: Money
    balance_after: Money
    free_spins_played: NonNegativeInt = 0


@event("round.rolled_back", entities=("Round",))
class RoundRolledBack(_RoundStep, frozen=True, kw_only=True):
    """A round failed technically and its stake was returned."""

    reason: Text
    refunded_amount: Money
    balance_before: Money
    balance_after: Money


@event("round.retried", entities=("Round",))
class RoundRetried(_RoundStep, frozen=True, kw_only=True):
    """A technical operation of the round failed and is being retried."""

    operation: Literal["bet", "outcome", "win", "settlement"]
    attempt: Annotated[int, msgspec.Meta(ge=1, le=100)]
    reason: Text


@event("round.bonus_phase_entered", entities=("Round",))
class RoundBonusPhaseEntered(_RoundStep, frozen=True, kw_only=True):
    """The round entered a bonus phase (free spins, a bonus game, a pick game)."""

    phase: BonusPhase
    spins_awarded: NonNegativeInt | None = None
    trigger: Text | None = None


@event("jackpot.contributed", entities=("Jackpot",))
class JackpotContributed(Payload, frozen=True, kw_only=True):
    """Part of a bet was added to a progressive jackpot pool."""

    jackpot_pool_id: Ref
    round_id: Ref
    game_code: Code
    amount: Money
    pool_after: Money


@event("jackpot.triggered", entities=("Jackpot",))
class JackpotTriggered(Payload, frozen=True, kw_only=True):
    """A round won a jackpot pool; trigger_event_id is the deciding outcome event."""

    jackpot_pool_id: Ref
    round_id: Ref
    player_ref: Ref
    game_code: Code
    trigger_event_id: UUID
    amount: Money
    pool_reset_to: Money


@event("jackpot.paid", entities=("Jackpot",))
class JackpotPaid(Payload, frozen=True, kw_only=True):
    """A jackpot win was paid; trigger_event_id is the jackpot.triggered event."""

    jackpot_pool_id: Ref
    round_id: Ref
    trigger_event_id: UUID
    payout_tx_id: Ref
    amount: Money
    player_ref: Ref


@event("game.version_released", entities=("Game",))
class GameVersionReleased(Payload, frozen=True, kw_only=True):
    """A certified game version was released to production."""

    game_code: Code
    game_version_hash: Sha256Hex
    release_id: Ref
    rtp_theoretical: Decimal
    certificate_ref: Ref
    test_lab: Code
    jurisdictions: list[Jurisdiction]
    provider: Code | None = None
    previous_version_hash: Sha256Hex | None = None

    def __post_init__(self) -> None:
        """Reject a theoretical RTP outside (0, 1]."""
        rtp = self.rtp_theoretical
        if not rtp.is_finite() or not Decimal(0) < rtp <= Decimal(1):
            msg = f"rtp_theoretical is a fraction in (0, 1], got {rtp}"
            raise ValueError(msg)
