"""Wire types of the API: msgspec Structs; the envelope, receipt and read event are ``ledger``'s own.

The ingest body is ``ledger.event.EventIn`` itself, so its constraints are written once for HTTP
and the CLI. Constraints (``Meta``) become both request validation and the OpenAPI schema. Views served
from projections are documents (``dict``) inside typed envelopes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ledger.catalogue.types import RFC3339_PATTERN, RFC3339_TEXT
from ledger.event import EventIn, ReadEvent, Receipt
from ledger.proofs import PositionProof

MAX_EVENTS = 1000

Timestamp = Annotated[
    str,
    msgspec.Meta(pattern=RFC3339_PATTERN, description=RFC3339_TEXT, examples=["2026-01-05T09:12:00.250Z"]),
]
Hex64 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}(?!\n)$")]

IngestBody = EventIn | Annotated[list[EventIn], msgspec.Meta(min_length=1, max_length=MAX_EVENTS)]


class IngestOut(msgspec.Struct, frozen=True, kw_only=True):
    """Receipts in request order; 201 when anything was new, 200 when all were repeats."""

    receipts: list[Receipt]
    new: int
    duplicates: int


class CheckpointOut(msgspec.Struct, frozen=True, kw_only=True):
    """A signed checkpoint (C2SP tlog-checkpoint in a signed note) and its parsed fields."""

    origin: str
    size: int
    root: Hex64
    timestamp: str
    first: int
    manifest: Hex64
    previous: Hex64
    note: str


class ConsistencyOut(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 consistency proof from the tree of ``first`` leaves to that of ``second``."""

    first: int
    second: int
    first_root: Hex64
    second_root: Hex64
    consistency_path: list[str]


class ProofsOut(msgspec.Struct, frozen=True, kw_only=True):
    """Inclusion proofs of a view's events against the latest signed checkpoint.

    ``unsealed`` lists positions recorded after that checkpoint (proven by the next seal).
    """

    checkpoint: CheckpointOut | None
    inclusion: list[PositionProof]
    unsealed: list[int]


class AuditOut(msgspec.Struct, frozen=True, kw_only=True):
    """Every revision of an entity: actor, times, state after and RFC 6902 patch."""

    entity: str
    id: str
    revisions: list[dict[str, Any]]
    proofs: ProofsOut | None = None


class DocOut(msgspec.Struct, frozen=True, kw_only=True):
    """A projection document (round, case, player), with proofs when asked for."""

    data: dict[str, Any]
    proofs: ProofsOut | None = None


class RegulatorPlayerOut(msgspec.Struct, frozen=True, kw_only=True):
    """A player's KYC, responsible-gaming state, payments summary and cases."""

    player_ref: str
    state: dict[str, Any]
    cases: list[dict[str, Any]]


class LogPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of raw events of a category; ``next_cursor`` continues it (absent on the last page)."""

    events: list[ReadEvent]
    next_cursor: str | None


class HealthOut(msgspec.Struct, frozen=True, kw_only=True):
    """Liveness."""

    status: Literal["ok"]


class ReadyOut(msgspec.Struct, frozen=True, kw_only=True):
    """Readiness: the store answers; projections' lag in events."""

    status: Literal["ready", "degraded"]
    events: int
    tree_size: int
    projection_lag: dict[str, int]


class SealOut(msgspec.Struct, frozen=True, kw_only=True):
    """What one seal did."""

    tree_size: int
    leaves_added: int
    checkpoint: CheckpointOut | None
    anchored: list[str]


class VerificationOut(msgspec.Struct, frozen=True, kw_only=True):
    """The last full verification (``ok`` false carries the located failure)."""

    ok: bool
    finished_at: str
    result: dict[str, Any]
