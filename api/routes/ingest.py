"""Ingest (``service_writer``): append one event or a batch; read one event back."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.dto import AbstractDTO, DTOFieldDefinition
from litestar.exceptions import ClientException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath
from litestar.typing import FieldDefinition
from opentelemetry import trace

from api.deps import LedgerDeps
from api.errors import responses
from api.observability import APPENDED, DUPLICATES
from api.schemas import MAX_EVENTS, IngestBody, IngestOut
from api.security import SECURITY
from ledger.application import decode_envelopes
from ledger.errors import ValidationError
from ledger.event import EventIn, ReadEvent

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.dto._backend import DTOBackend
    from litestar.openapi.spec import Reference, Schema

MAX_TRACE_ATTRS = 16


class EnvelopeBody(AbstractDTO[EventIn]):
    """The ingest body: the raw bytes decode once, strictly, with the CLI's decoder.

    Litestar's own body decoding (JSON to builtins, then a lax ``convert``) would coerce
    ``"1"`` to ``1`` and decode twice; as the handler's DTO this decodes straight into
    ``EventIn`` and documents the body as ``IngestBody`` (one envelope or an array).
    """

    @classmethod
    def create_for_field_definition(
        cls,
        field_definition: FieldDefinition,
        handler_id: str,
        backend_cls: type[DTOBackend] | None = None,
    ) -> None:
        """Build nothing: :meth:`decode_bytes` needs no transfer model."""

    @classmethod
    def create_openapi_schema(
        cls,
        field_definition: FieldDefinition,
        handler_id: str,  # noqa: ARG003 - Litestar's signature
        schema_creator: SchemaCreator,
    ) -> Reference | Schema:
        """Document the body as ``IngestBody``."""
        body = FieldDefinition.from_annotation(IngestBody, kwarg_definition=field_definition.kwarg_definition)
        return schema_creator.for_field_definition(body)

    @classmethod
    def generate_field_definitions(cls, model_type: type[Any]) -> Generator[DTOFieldDefinition, None, None]:
        """Unused: this DTO has no transfer model."""
        raise NotImplementedError(model_type)

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        """Unused: this DTO has no transfer model."""
        raise NotImplementedError(field_definition)

    def decode_bytes(self, value: bytes) -> list[EventIn]:
        """Decode the body into envelopes.

        Raises:
            ClientException: the body is not JSON (400).
            ValidationError: not an envelope or an array of them (422 naming the field).
        """
        try:
            return decode_envelopes(value)
        except msgspec.DecodeError as e:
            raise ClientException(f"the body is not valid JSON: {e}") from None


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
        dto=EnvelopeBody,
        return_dto=None,
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
        # None: an empty body (Litestar hands the DTO only non-empty ones).
        data: Annotated[list[EventIn] | None, Body(title="One event or a JSON array of events")] = None,
    ) -> Response[IngestOut]:
        """Append, returning one receipt per event in request order."""
        bodies = data or []
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
