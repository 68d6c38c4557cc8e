"""Operational incidents and RNG anomalies a regulator may have to be told about."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from ledger.catalogue.registry import Payload, event
from ledger.catalogue.types import Code, NonNegativeInt, Ref, Sha256Hex, Text, Timestamp

Severity = Literal["P1", "P2", "P3", "P4"]
Status = Literal["open", "investigating", "mitigated", "resolved", "closed"]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


@event("incident.opened", entities=("Incident",))
class IncidentOpened(Payload, frozen=True, kw_only=True):
    """An incident was declared."""

    incident_id: Ref
    severity: Severity
    title: Title
    summary: Text
    status: Status = "open"
    affected_games: list[Code] = msgspec.field(default_factory=list)
    regulator_notified: bool = False
    opened_by: Ref | None = None


@event("incident.updated", entities=("Incident",))
class IncidentUpdated(Payload, frozen=True, kw_only=True):
    """An incident's status, severity or assessment changed."""

    incident_id: Ref
    severity: Severity
    status: Status
    summary: Text
    affected_games: list[Code] = msgspec.field(default_factory=list)
    regulator_notified: bool = False
    root_cause: Text | None = None


@event("incident.closed", entities=("Incident",))
class IncidentClosed(Payload, frozen=True, kw_only=True):
    """An incident was closed with its root cause."""

    incident_id: Ref
    severity: Severity
    title: Title
    summary: Text
    root_cause: Text
    affected_games: list[Code] = msgspec.field(default_factory=list)
    regulator_notified: bool
    status: Literal["closed"] = "closed"


class Window(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The observation window a statistic was computed over."""

    start: Timestamp
    end: Timestamp
    rounds: NonNegativeInt


@event("rng.anomaly_detected", entities=("Game",))
class RngAnomalyDetected(Payload, frozen=True, kw_only=True):
    """RNG or payout monitoring found a statistic outside its expected range."""

    game_code: Code
    game_version_hash: Sha256Hex
    metric: Code
    observed: Decimal
    expected: Decimal
    window: Window
    detector: Code | None = None
    threshold: Decimal | None = None
    incident_id: Ref | None = None

    def __post_init__(self) -> None:
        """Reject non-finite statistics and a window that ends before it starts."""
        for value in (self.observed, self.expected, self.threshold):
            if value is not None and not value.is_finite():
                msg = f"statistics must be finite decimals, got {value}"
                raise ValueError(msg)
        if self.window.end < self.window.start:
            msg = "window.end is before window.start"
            raise ValueError(msg)
