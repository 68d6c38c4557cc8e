"""Entity audit history: every revision of an entity stream with its RFC 6902 diff.

Rows of ``audit_revision`` are keyed ``<stream>#<stream position, 12 digits>`` so one
entity's history is one key-range scan in order. ``entity_state`` holds each stream's
current state (the previous state the next diff starts from; also the current-state view
of configuration entities). High-volume transactional streams (rounds, wallets, jackpot
pools) have dedicated views and are not audited here (``SKIPPED``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ledger.catalogue import CATALOGUE
from ledger.errors import NotFoundError
from ledger.event import ReadEvent
from projections.entity import evolve
from projections.patch import diff
from projections.ports import Doc, ViewStore
from projections.runner import Docs, Need

SKIPPED = frozenset({"Round", "Wallet", "Jackpot"})
_ENTITY_TYPES = frozenset(t.name for t in CATALOGUE if any(e not in SKIPPED for e in t.entities))


def revision_key(stream: str, stream_position: int) -> str:
    """The row key of one revision (sorts by stream, then stream position)."""
    return f"{stream}#{stream_position:012d}"


class AuditProjection:
    """Revisions with actor, times, type, state after, JSON Patch, position and hash."""

    name = "audit"
    version = 1
    topics = _ENTITY_TYPES
    tables: tuple[str, ...] = ("audit_revision", "entity_state")

    def needs(self, fact: ReadEvent) -> Iterable[Need]:
        """The stream's current state."""
        if fact.entity not in SKIPPED:
            yield "entity_state", fact.stream

    def apply(self, fact: ReadEvent, docs: Docs) -> None:
        """Record one revision and the new current state."""
        if fact.entity in SKIPPED:
            return
        before = docs.get("entity_state", fact.stream)
        old = before["state"] if before else {}
        new = evolve(old, fact)
        revision = {
            "stream": fact.stream,
            "stream_position": fact.stream_position,
            "position": fact.position,
            "hash": fact.hash,
            "event_id": fact.event_id,
            "type": fact.type,
            "schema_version": fact.stored_schema_version,
            "actor": fact.actor,
            "occurred_at": fact.occurred_at,
            "recorded_at": fact.recorded_at,
            "reason": fact.payload.get("reason"),
            "state": new,
            "patch": diff(old, new),
        }
        docs.put("audit_revision", revision_key(fact.stream, fact.stream_position), revision)
        docs.put(
            "entity_state",
            fact.stream,
            {"stream": fact.stream, "revision": fact.stream_position, "state": new},
        )


def audit_history(views: ViewStore, entity: str, entity_id: str, limit: int | None = None) -> list[Doc]:
    """Every revision of ``entity:entity_id`` in order.

    Raises:
        NotFoundError: the entity has no audited revision.
    """
    stream = f"{entity}:{entity_id}"
    rows = views.scan("audit_revision", f"{stream}#", limit)
    if not rows:
        hint = " (rounds, wallets and jackpot pools have their own views)" if entity in SKIPPED else ""
        msg = f"no audit history for {stream}{hint}"
        raise NotFoundError(msg, field="entity")
    return rows


def audit_history_json(views: ViewStore, entity: str, entity_id: str, limit: int | None = None) -> bytes:
    """The same history as one JSON array, served from the stored bytes without re-encoding.

    Raises:
        NotFoundError: the entity has no audited revision.
    """
    rows = views.scan_raw("audit_revision", f"{entity}:{entity_id}#", limit)
    if not rows:
        audit_history(views, entity, entity_id, 1)
    return b"[" + b",".join(rows) + b"]"


def current_state(views: ViewStore, stream: str) -> dict[str, Any]:
    """The current state of one entity stream.

    Raises:
        NotFoundError: the stream has no audited state.
    """
    doc = views.get("entity_state", stream)
    if doc is None:
        msg = f"no state for {stream}"
        raise NotFoundError(msg, field="stream")
    return doc
