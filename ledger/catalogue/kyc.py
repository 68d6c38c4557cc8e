"""Know-your-customer checks and on-chain (KYT) address screening."""

from __future__ import annotations

from typing import Any, Literal

from ledger.catalogue.registry import Payload, event, upcast
from ledger.catalogue.types import Code, Personal, Ref, Score, Text, Timestamp

LEGACY_POLICY_VERSION = "unversioned-pre-v2"


@event("kyc.started", entities=("Player",), subject="player_ref")
class KycStarted(Payload, frozen=True, kw_only=True):
    """Identity verification started for a player (personal data sealed)."""

    player_ref: Ref
    check_id: Ref
    provider: Code
    level: Literal["basic", "enhanced"]
    full_name: Personal
    date_of_birth: Personal
    address: Personal | None = None
    email: Personal | None = None
    phone: Personal | None = None
    ip_address: Personal | None = None


@event("kyc.document_checked", entities=("Player",), subject="player_ref")
class KycDocumentChecked(Payload, frozen=True, kw_only=True):
    """An identity document was checked by a provider."""

    player_ref: Ref
    check_id: Ref
    document_type: Literal["passport", "id_card", "driving_licence", "residence_permit", "utility_bill"]
    document_number: Personal
    issuing_country: Code
    result: Literal["verified", "rejected", "unreadable", "expired"]
    provider_reference: Ref | None = None


@event("kyc.screened", entities=("Player",), subject="player_ref")
class KycScreened(Payload, frozen=True, kw_only=True):
    """A player was screened against sanctions and PEP lists."""

    player_ref: Ref
    check_id: Ref
    lists: list[Code]
    sanctions_hit: bool
    pep_hit: bool
    adverse_media_hit: bool = False
    match_details: Personal | None = None


@event("kyc.decided", 1, entities=("Player",))
class KycDecidedV1(Payload, frozen=True, kw_only=True):
    """KYC outcome (v1, before decisions carried the policy version)."""

    player_ref: Ref
    check_id: Ref
    kyc_status: Literal["pass", "fail", "request_info"]
    reason: Text | None = None


@event("kyc.decided", 2, entities=("Player",))
class KycDecided(Payload, frozen=True, kw_only=True):
    """KYC outcome with the policy version that decided it."""

    player_ref: Ref
    check_id: Ref
    kyc_status: Literal["pass", "fail", "request_info"]
    reason: Text | None = None
    policy_version: Code
    tier: Literal["unverified", "basic", "full", "enhanced"] = "unverified"
    decided_by: Literal["automatic", "manual"] = "automatic"


@upcast("kyc.decided", 1)
def _kyc_decided_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 decisions were made before policies were versioned: say so explicitly."""
    tier = "basic" if payload.get("kyc_status") == "pass" else "unverified"
    return {**payload, "policy_version": LEGACY_POLICY_VERSION, "tier": tier, "decided_by": "automatic"}


@event("kyt.address_screened", entities=("Player", "Payment"), subject="player_ref")
class KytAddressScreened(Payload, frozen=True, kw_only=True):
    """A crypto wallet address was screened (know-your-transaction)."""

    player_ref: Ref
    screening_id: Ref
    chain: Code
    address: Personal
    provider: Code
    risk_score: Score
    categories: list[Code]
    screened_at: Timestamp
