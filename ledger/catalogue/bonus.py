"""Bonus rules, bonus lifecycle and platform configuration (limits, feature flags)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from ledger.catalogue.registry import Payload, event
from ledger.catalogue.types import Code, Jurisdiction, Money, NonNegativeInt, Ref, Text, Timestamp

Percent = Annotated[Decimal, msgspec.Meta(description="percent, 0 to 1000, e.g. 100.00")]


class BonusRuleConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration of a bonus rule (diffs between revisions are derived later)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    kind: Literal["deposit_match", "free_spins", "cashback", "no_deposit", "reload"]
    match_percent: Percent | None = None
    max_bonus: Money | None = None
    min_deposit: Money | None = None
    free_spins: NonNegativeInt | None = None
    wagering_multiplier: Annotated[int, msgspec.Meta(ge=0, le=200)]
    max_bet_while_wagering: Money | None = None
    eligible_games: list[Code] = msgspec.field(default_factory=list)
    jurisdictions: list[Jurisdiction]
    valid_from: Timestamp
    valid_until: Timestamp | None = None
    terms_version: Code

    def __post_init__(self) -> None:
        """Check the ranges msgspec cannot express for decimals."""
        if self.match_percent is not None and not 0 <= self.match_percent <= 1000:  # noqa: PLR2004
            msg = f"match_percent must be between 0 and 1000, got {self.match_percent}"
            raise ValueError(msg)
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            msg = "valid_until must be after valid_from"
            raise ValueError(msg)


@event("bonus_rule.created", entities=("BonusRule",))
class BonusRuleCreated(Payload, frozen=True, kw_only=True):
    """A bonus rule was created with its first configuration."""

    rule_id: Ref
    config: BonusRuleConfig
    reason: Text | None = None


@event("bonus_rule.changed", entities=("BonusRule",))
class BonusRuleChanged(Payload, frozen=True, kw_only=True):
    """A bonus rule's configuration was replaced by a new full configuration."""

    rule_id: Ref
    config: BonusRuleConfig
    reason: Text | None = None
    approved_by: Ref | None = None


@event("bonus_rule.retired", entities=("BonusRule",))
class BonusRuleRetired(Payload, frozen=True, kw_only=True):
    """A bonus rule stopped accepting new grants."""

    rule_id: Ref
    reason: Text | None = None


@event("bonus.granted", entities=("Bonus",))
class BonusGranted(Payload, frozen=True, kw_only=True):
    """A bonus was granted to a player under a rule."""

    bonus_id: Ref
    rule_id: Ref
    player_ref: Ref
    amount: Money
    wagering_required: Money
    expires_at: Timestamp | None = None


@event("bonus.wagering_progressed", entities=("Bonus",))
class BonusWageringProgressed(Payload, frozen=True, kw_only=True):
    """Wagering towards a bonus's requirement progressed."""

    bonus_id: Ref
    player_ref: Ref
    round_id: Ref | None = None
    contributed: Money
    wagered_total: Money
    wagering_required: Money


@event("bonus.converted", entities=("Bonus",))
class BonusConverted(Payload, frozen=True, kw_only=True):
    """A bonus met its requirement and was converted to cash."""

    bonus_id: Ref
    player_ref: Ref
    amount: Money


@event("bonus.forfeited", entities=("Bonus",))
class BonusForfeited(Payload, frozen=True, kw_only=True):
    """A bonus was forfeited (expired, cancelled, or a rule was broken)."""

    bonus_id: Ref
    player_ref: Ref
    amount: Money
    reason: Literal["expired", "cancelled_by_player", "withdrawal", "rule_breach", "operator"]


@event("limit.changed", entities=("Limit",))
class LimitChanged(Payload, frozen=True, kw_only=True):
    """A platform-wide limit (not a player's RG limit) was changed."""

    limit_id: Ref
    name: Code
    value: Money | None = None
    count: NonNegativeInt | None = None
    previous_value: Money | None = None
    reason: Text | None = None


@event("feature_flag.changed", entities=("FeatureFlag",))
class FeatureFlagChanged(Payload, frozen=True, kw_only=True):
    """A feature flag was switched or its rollout changed."""

    flag: Code
    enabled: bool
    rollout_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] = 100
    jurisdictions: list[Jurisdiction] = msgspec.field(default_factory=list)
    reason: Text | None = None
