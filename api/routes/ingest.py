"""Ingest (``service_writer``): append one event or a batch; read one event back."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath
from opentelemetry import trace

from api.deps import LedgerDeps
from api.errors import responses
from api.observability import APPENDED, DUPLICATES
from api.schemas import MAX_EVENTS, IngestBody, IngestOut
from api.security import SECURITY
from ledger.errors import ValidationError
from ledger.event import EventIn, ReadEvent

MAX_TRACE_ATTRS = 16


def _span_links(bodies: list[EventIn]) -> None:
    """Link the request's span to the events' own trace ids (the envelope's ``trace_id``)."""
    span = trace.get_current_span()
    if span.is_recording():
        ids = list(dict.fromkeys(b.trace_id for b in bodies))
        span.set_attribute("ledger.events", len(bodies))
        span.set_attribute("ledger.event_trace_ids", ids[:MAX_TRACE_ATTRS])


class IngestController(Controller):
    """``POST /v1/events`` and ``GET /v1/events/{event_id}``."""

    path = "/v1/events"
    tags = ["ingest"]  # noqa: RUF012 - Litestar's declared attribute
    security = SECURITY

    @post(
        "/",
        sync_to_thread=True,
        status_code=201,
        opt={"ingest_body": True},
        summary="Append one event or a batch (≤ 1,000)",
        description=(
            "Atomic: the whole batch is appended or nothing is. 201 when anything was new; 200 with the "
            "original receipts when every event is an idempotent repeat; 409 for an event_id reused with "
            "other content or a stale expected_stream_position; 422 naming the field "
            "(e.g. `events[3].payload.rollout_percent`)."
        ),
        responses={
            200: ResponseSpec(data_container=IngestOut, description="Every event was already recorded"),
            **responses(409, 503),
        },
    )
    def append(
        self,
        ld: NamedDependency[LedgerDeps],
        data: Annotated[IngestBody, Body(title="One event or a JSON array of events")],
    ) -> Response[IngestOut]:
        """Append, returning one receipt per event in request order."""
        bodies = data if isinstance(data, list) else [data]
        if not bodies or len(bodies) > MAX_EVENTS:
            msg = f"a request holds 1 to {MAX_EVENTS} events, got {len(bodies)}"
            raise ValidationError(msg, field="events")
        _span_links(bodies)
        receipts = ld.ledger.append(bodies)
        dup = sum(r.duplicate for r in receipts)
        new = len(receipts) - dup
        APPENDED.inc(new)
        DUPLICATES.inc(dup)
        out = IngestOut(receipts=receipts, new=new, duplicates=dup)
        return Response(out, status_code=201 if new else 200)

    @get(
        "/{event_id:uuid}",
        sync_to_thread=True,
        summary="One event by id, opened and upcast",
        responses=responses(404, 503),
    )
    def get_event(self, ld: NamedDependency[LedgerDeps], event_id: FromPath[UUID]) -> ReadEvent:
        """Read one event."""
        return ld.ledger.get(str(event_id))
