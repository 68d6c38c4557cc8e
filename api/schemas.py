"""Wire types of the API: msgspec Structs, separate from the hashed types in ``ledger``.

Constraints (``Meta``) become both request validation and the OpenAPI schema. Views served
from projections are documents (``dict``) inside typed envelopes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from ledger.event import EventTypeName, StreamName, TraceId

MAX_EVENTS = 1000

Timestamp = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})(?!\n)$",
        description="RFC 3339 instant with an offset (stored as UTC milliseconds)",
        examples=["2026-01-05T09:12:00.250Z"],
    ),
]
Hex64 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}(?!\n)$")]


class ActorIn(msgspec.Struct, frozen=True):
    """Who caused the event."""

    kind: Literal["service", "operator", "system"]
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@\-]+(?!\n)$")]


class EventBody(msgspec.Struct, frozen=True, kw_only=True):
    """One event as a producer submits it; ``payload`` is validated against the catalogue."""

    event_id: UUID
    type: EventTypeName
    schema_version: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    stream: StreamName
    occurred_at: Timestamp
    actor: ActorIn
    trace_id: TraceId
    jurisdiction: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?(?!\n)$")]
    payload: dict[str, Any]
    expected_stream_position: Annotated[int, msgspec.Meta(ge=0)] | None = None


IngestBody = EventBody | Annotated[list[EventBody], msgspec.Meta(min_length=1, max_length=MAX_EVENTS)]


class ReceiptOut(msgspec.Struct, frozen=True, kw_only=True):
    """Where an event landed and the hash that seals it (``duplicate``: an idempotent repeat)."""

    event_id: UUID
    stream: str
    position: int
    stream_position: int
    hash: str
    recorded_at: str
    duplicate: bool


class IngestOut(msgspec.Struct, frozen=True, kw_only=True):
    """Receipts in request order; 201 when anything was new, 200 when all were repeats."""

    receipts: list[ReceiptOut]
    new: int
    duplicates: int


class EventOut(msgspec.Struct, frozen=True, kw_only=True):
    """An event as read back: opened (erased fields listed) and upcast to the latest version."""

    position: int
    stream: str
    stream_position: int
    hash: str
    prev_hash: str
    recorded_at: str
    event_id: str
    type: str
    schema_version: int
    stored_schema_version: int
    occurred_at: str
    actor: dict[str, str]
    trace_id: str
    jurisdiction: str
    payload: dict[str, Any]
    erased_fields: list[str]


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


class InclusionOut(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 inclusion proof of the record at ``position`` (leaf ``position``) in ``tree_size``."""

    position: int
    leaf_hash: Hex64
    leaf_index: int
    tree_size: int
    audit_path: list[str]


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
    inclusion: list[InclusionOut]
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

    events: list[EventOut]
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
