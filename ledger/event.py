"""The event envelope as producers submit it, the receipt the ledger gives back, and the event read back."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal
from uuid import UUID

import msgspec

from ledger.catalogue.types import Jurisdiction, Ref, Rfc3339Timestamp

MAX_SCHEMA_VERSION: Final = 1000
STREAM_PATTERN: Final = r"^[A-Z][A-Za-z]{1,39}:[A-Za-z0-9_.:@\-]{1,128}(?!\n)$"
EVENT_TYPE_PATTERN: Final = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+(?!\n)$"

StreamName = Annotated[
    str,
    msgspec.Meta(
        pattern=STREAM_PATTERN,
        description="entity type and id, e.g. BonusRule:123, Round:r-42, Player:plr_0f2",
    ),
]
EventTypeName = Annotated[str, msgspec.Meta(pattern=EVENT_TYPE_PATTERN)]
TraceId = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}(?!\n)$", description="W3C trace id")]


class Actor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who caused the event: a service, a human operator, or the system itself."""

    kind: Literal["service", "operator", "system"]
    id: Ref


class EventIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One event as a producer submits it (NDJSON line, API body item): the one wire contract.

    HTTP and the CLI decode straight into this type; ``payload`` is then validated against
    the catalogue. ``event_id`` is the idempotency key. ``expected_stream_position``, when given, is the
    stream position this event must receive (0 for the first event of a new stream);
    it is an append condition, not part of the recorded content.
    """

    event_id: UUID
    type: EventTypeName
    schema_version: Annotated[int, msgspec.Meta(ge=1, le=MAX_SCHEMA_VERSION)]
    stream: StreamName
    occurred_at: Annotated[Rfc3339Timestamp, msgspec.Meta(examples=["2026-01-05T09:12:00.250Z"])]
    actor: Actor
    trace_id: TraceId
    jurisdiction: Jurisdiction
    payload: dict[str, Any]
    expected_stream_position: Annotated[int, msgspec.Meta(ge=0)] | None = None


class Receipt(msgspec.Struct, frozen=True):
    """Proof of acceptance for one event: where it landed and the hash that seals it."""

    event_id: UUID
    stream: str
    position: int
    stream_position: int
    hash: str
    recorded_at: str
    duplicate: bool = False


class ReadEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as read back (the one read model): ledger positions, envelope, upcast payload.

    Decoded from the stored bytes by ``ledger.reads.decode_event``. Projections see it sealed
    (personal fields still ciphertext, ``erased_fields`` empty); ``Ledger.read_event`` opens
    them first (erased fields marked). ``schema_version`` is the latest version of the type,
    ``stored_schema_version`` the one recorded.
    """

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
    erased_fields: list[str] = msgspec.field(default_factory=list)

    @property
    def entity(self) -> str:
        """The stream's entity kind (``BonusRule`` for ``BonusRule:br-welcome``)."""
        return self.stream.partition(":")[0]
