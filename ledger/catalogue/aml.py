"""Anti-money-laundering: monitoring alerts, cases, decisions, and suspicious-activity reports."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ledger.catalogue.registry import Payload, event
from ledger.catalogue.types import Code, Money, NonNegativeInt, Ref, Score, Text, Timestamp

Action = Literal["none", "monitor", "limit", "block", "report"]


@event("aml.alert_raised", entities=("AmlCase", "Player"))
class AmlAlertRaised(Payload, frozen=True, kw_only=True):
    """Transaction monitoring or screening raised an alert on a player."""

    alert_id: Ref
    player_ref: Ref
    source: Literal["transaction_monitoring", "kyt", "screening", "payments", "manual"]
    rule_ids: list[Code]
    risk_score: Score
    summary: Text
    related_refs: list[Ref] = msgspec.field(default_factory=list)
    policy_version: Code | None = None


@event("aml.case_opened", entities=("AmlCase",))
class AmlCaseOpened(Payload, frozen=True, kw_only=True):
    """A compliance analyst opened a case from one or more alerts."""

    case_id: Ref
    player_ref: Ref
    alert_ids: list[Ref]
    priority: Literal["low", "medium", "high"]
    opened_by: Ref
    reason: Text | None = None


@event("aml.case_escalated", entities=("AmlCase",))
class AmlCaseEscalated(Payload, frozen=True, kw_only=True):
    """A case was escalated to the MLRO or senior management."""

    case_id: Ref
    player_ref: Ref
    escalated_to: Literal["mlro", "compliance_lead", "senior_management"]
    escalated_by: Ref
    reason: Text


@event("aml.case_closed", entities=("AmlCase",))
class AmlCaseClosed(Payload, frozen=True, kw_only=True):
    """A case was closed with its outcome."""

    case_id: Ref
    player_ref: Ref
    outcome: Literal["no_further_action", "monitoring", "limits_applied", "account_closed", "sar_filed"]
    closed_by: Ref
    summary: Text | None = None


@event("aml.decision_made", entities=("AmlCase", "Player"))
class AmlDecisionMade(Payload, frozen=True, kw_only=True):
    """A risk decision with its score, explanations and the policy version that made it."""

    decision_id: Ref
    case_id: Ref | None = None
    player_ref: Ref
    risk_score: Score
    action: Action
    # The cap imposed on the player when ``action`` is "limit".
    limits: Money | None = None
    explanations: list[Text]
    policy_version: Code
    rule_ids: list[Code] = msgspec.field(default_factory=list)
    ttl_seconds: Annotated[int, msgspec.Meta(ge=1)] | None = None
    decided_by: Literal["automatic", "manual"] = "automatic"
    reviewer: Ref | None = None

    def __post_init__(self) -> None:
        """Reject a "limit" decision that does not say what the limit is."""
        if self.action == "limit" and self.limits is None:
            msg = 'action "limit" requires limits'
            raise ValueError(msg)


@event("aml.sar_filed", entities=("AmlCase",))
class AmlSarFiled(Payload, frozen=True, kw_only=True):
    """A suspicious-activity report was filed with the financial-intelligence unit."""

    case_id: Ref
    player_ref: Ref
    filing_ref: Ref
    authority: Code
    filed_at: Timestamp
    filed_by: Ref
    transactions_reported: NonNegativeInt = 0
