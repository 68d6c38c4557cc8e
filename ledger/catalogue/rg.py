"""Responsible gaming: player limits, self-exclusion, time-outs and interventions.

A money limit (deposit, loss, wager) carries ``amount`` and no ``minutes``; a
``session_time`` limit carries ``minutes`` and no ``amount``. Raising a limit takes
effect only after a cooling-off period, so ``effective_at`` may lie in the future.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ledger.catalogue.registry import Payload, event
from ledger.catalogue.types import Code, Money, Ref, Text, Timestamp

LimitType = Literal["deposit", "loss", "wager", "session_time"]
Period = Literal["daily", "weekly", "monthly"]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=44640)]


def _check_limit(limit_type: str, amount: Money | None, minutes: int | None, prefix: str = "") -> None:
    if limit_type == "session_time":
        if minutes is None or amount is not None:
            msg = f"a session_time limit carries {prefix}minutes and no {prefix}amount"
            raise ValueError(msg)
    elif amount is None or minutes is not None:
        msg = f"a {limit_type} limit carries {prefix}amount and no {prefix}minutes"
        raise ValueError(msg)


@event("rg.limit_set", entities=("Player",))
class RgLimitSet(Payload, frozen=True, kw_only=True):
    """A responsible-gaming limit was set where none of its type and period existed."""

    player_ref: Ref
    limit_id: Ref
    limit_type: LimitType
    period: Period
    amount: Money | None = None
    minutes: Minutes | None = None
    effective_at: Timestamp
    set_by: Literal["player", "operator"] = "player"

    def __post_init__(self) -> None:
        """Reject a limit whose value does not match its type."""
        _check_limit(self.limit_type, self.amount, self.minutes)


@event("rg.limit_changed", entities=("Player",))
class RgLimitChanged(Payload, frozen=True, kw_only=True):
    """A limit was changed; an increase applies only after its cooling-off."""

    player_ref: Ref
    limit_id: Ref
    limit_type: LimitType
    period: Period
    direction: Literal["increase", "decrease", "removed"]
    amount: Money | None = None
    minutes: Minutes | None = None
    previous_amount: Money | None = None
    previous_minutes: Minutes | None = None
    effective_at: Timestamp
    set_by: Literal["player", "operator"] = "player"

    def __post_init__(self) -> None:
        """Reject a change whose new or previous value does not match the limit's type."""
        if self.direction != "removed":
            _check_limit(self.limit_type, self.amount, self.minutes)
        _check_limit(self.limit_type, self.previous_amount, self.previous_minutes, "previous_")


@event("rg.self_exclusion_started", entities=("Player",))
class RgSelfExclusionStarted(Payload, frozen=True, kw_only=True):
    """A player was self-excluded, for a period or (until absent) permanently."""

    player_ref: Ref
    exclusion_id: Ref
    scheme: Code
    until: Timestamp | None = None
    requested_via: Literal["player", "scheme", "operator"] = "player"
    reason: Text | None = None


@event("rg.self_exclusion_ended", entities=("Player",))
class RgSelfExclusionEnded(Payload, frozen=True, kw_only=True):
    """A self-exclusion ended (expired, or lifted by the scheme that imposed it)."""

    player_ref: Ref
    exclusion_id: Ref
    scheme: Code
    reason: Literal["expired", "revoked_by_scheme", "recorded_in_error"]
    detail: Text | None = None


@event("rg.timeout_started", entities=("Player",))
class RgTimeoutStarted(Payload, frozen=True, kw_only=True):
    """A player took a short break from play until the given time."""

    player_ref: Ref
    until: Timestamp
    reason: Text | None = None


@event("rg.intervention_recorded", entities=("Player",))
class RgInterventionRecorded(Payload, frozen=True, kw_only=True):
    """The operator intervened on a player's gambling behaviour."""

    player_ref: Ref
    intervention_id: Ref
    kind: Literal["message", "call", "limit_imposed", "account_suspended"]
    trigger: Code
    by: Ref
    policy_version: Code | None = None
    notes: Text | None = None
