"""The event as projections see it: decoded from stored bytes, upcast, personal fields still sealed.

Projections never open sealed fields: a view must be answerable without plaintext personal
data (it refers to subjects by their references), and erasure must not change a view.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.catalogue import CATALOGUE, Catalogue
from ledger.chain import event_hash
from ledger.encoding import Content, Ledger
from ledger.pii import ENCRYPTED

SEALED_MARK = "[sealed]"


class Fact(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded event: ledger positions, envelope, upcast payload (sealed fields sealed)."""

    position: int
    stream: str
    stream_position: int
    event_id: str
    type: str
    schema_version: int
    occurred_at: str
    recorded_at: str
    actor: dict[str, str]
    jurisdiction: str
    trace_id: str
    payload: dict[str, Any]
    prev_hash: str
    data: bytes

    @property
    def hash(self) -> str:
        """The chain hash of this event (recomputed from the stored bytes)."""
        return event_hash(bytes.fromhex(self.prev_hash), self.data).hex()

    @property
    def entity(self) -> str:
        """The stream's entity kind (``BonusRule`` for ``BonusRule:br-welcome``)."""
        return self.stream.partition(":")[0]


class _Record(msgspec.Struct, frozen=True):
    """Record v1 (``ledger.encoding``) decoded in one pass, content typed."""

    event: Content
    ledger: Ledger
    v: int


_decode = msgspec.json.Decoder(_Record).decode


def decode_fact(data: bytes, catalogue: Catalogue = CATALOGUE) -> Fact:
    """Decode stored record bytes into a fact, upcast to the latest version of its type.

    Uses the record and content types of ``ledger.encoding``, decoded in one pass.
    """
    record = _decode(data)
    if record.v != 1:
        msg = f"unsupported record version {record.v}"
        raise ValueError(msg)
    content = record.event
    _, payload = catalogue.upcast(catalogue.get(content.type, content.schema_version), content.payload)
    return Fact(
        position=record.ledger.position,
        stream=content.stream,
        stream_position=record.ledger.stream_position,
        event_id=str(content.event_id),
        type=content.type,
        schema_version=content.schema_version,
        occurred_at=content.occurred_at,
        recorded_at=record.ledger.recorded_at,
        actor={"kind": content.actor.kind, "id": content.actor.id},
        jurisdiction=content.jurisdiction,
        trace_id=content.trace_id,
        payload=payload,
        prev_hash=record.ledger.prev_hash,
        data=data,
    )


def redacted(payload: dict[str, Any]) -> dict[str, Any]:
    """Return ``payload`` with every sealed field replaced by ``SEALED_MARK`` (no ciphertext in views)."""
    if not any(isinstance(v, dict) and v.get("sealed") == ENCRYPTED for v in payload.values()):
        return payload
    return {
        k: SEALED_MARK if isinstance(v, dict) and v.get("sealed") == ENCRYPTED else v
        for k, v in payload.items()
    }
