"""Regulators (``regulator_read``): entity audit history, a player's file, raw logs, MGA reports.

The same controller serves ``/regulator`` (production) and ``/sandbox/regulator`` (a separate
ledger of synthetic demo data): the router decides which :class:`LedgerDeps` it is given.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import PathParameter, QueryParameter

from api.deps import ApiDeps, LedgerDeps, ReportingDeps
from api.errors import responses
from api.params import ENTITY, EVENT_TYPE_PREFIX, REF, Flag, RefPath
from api.routes.common import positions_of, proofs_for, views_of
from api.schemas import AuditOut, LogPage, RegulatorPlayerOut, Timestamp
from api.security import SECURITY
from ledger.catalogue.types import Timestamp as LedgerTimestamp
from ledger.errors import StorageError, ValidationError
from ledger.reads import SCAN_LIMIT
from projections.audit import audit_history
from projections.cases import case_view
from projections.mga import mga_report, parse_base_rates, parse_day
from projections.state import lookup

NDJSON = "application/x-ndjson"
XML = "application/xml"
_RATE = r"[A-Z]{3}=[0-9]{1,6}(\.[0-9]{1,10})?"
Day = Annotated[
    str,
    QueryParameter(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?!\n)$",
        description="UTC day YYYY-MM-DD: the report covers 00:00:00-24:00:00 UTC of `occurred_at`",
        examples=[Example(value="2026-01-05")],
    ),
]
BaseRates = Annotated[
    str | None,
    QueryParameter(
        pattern=rf"^{_RATE}(,{_RATE})*(?!\n)$",
        max_length=400,
        description="ECB euro reference rate (units per euro) of each non-EUR currency the report holds",
        examples=[Example(value="GBP=0.8612,DKK=7.4601")],
    ),
]
Entity = Annotated[str, QueryParameter(pattern=ENTITY, description="entity kind, e.g. BonusRule")]
EntityId = Annotated[str, QueryParameter(name="id", pattern=REF, description="entity id, e.g. rule-welcome")]


def _cursor(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(base64.urlsafe_b64decode(text.encode() + b"==").decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("not a cursor this API issued", field="cursor") from None


def _make_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def _instant(text: str | None, field: str) -> str | None:
    if text is None:
        return None
    try:
        return LedgerTimestamp.parse(text).canonical()
    except ValueError as e:
        raise ValidationError(str(e), field=field) from None


@dataclass
class NdjsonOperation(Operation):
    """The logs operation: its 200 is JSON or NDJSON (``format=ndjson``)."""

    def __post_init__(self) -> None:
        """Document the NDJSON alternative of the 200 response."""
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content:
            ok.content[NDJSON] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))


class RegulatorController(Controller):
    """``/regulator/*`` (and ``/sandbox/regulator/*``)."""

    path = "/"
    tags = ["regulator"]  # noqa: RUF012
    security = SECURITY

    @get(
        "/audit",
        sync_to_thread=True,
        summary="An entity's revisions with operators, timestamps and RFC 6902 diffs",
        responses=responses(404, 503),
    )
    def audit(
        self,
        ld: NamedDependency[LedgerDeps],
        entity: Entity,
        entity_id: EntityId,
        proofs: Flag = False,
    ) -> AuditOut:
        """Every revision; ``proofs=true`` adds inclusion proofs and the signed checkpoint."""
        rows = audit_history(views_of(ld), entity, entity_id)
        return AuditOut(
            entity=entity,
            id=entity_id,
            revisions=rows,
            proofs=proofs_for(ld, positions_of(rows)) if proofs else None,
        )

    @get(
        "/player/{player_ref:str}",
        sync_to_thread=True,
        summary="A player's KYC, responsible-gaming state, payments summary and cases",
        responses=responses(404, 503),
    )
    def player(self, ld: NamedDependency[LedgerDeps], player_ref: RefPath) -> RegulatorPlayerOut:
        """The player's current state and their open cases."""
        views = views_of(ld)
        state = lookup(views, "player", player_ref)
        cases = [case_view(views, c) for c in state.get("open_cases", [])]
        return RegulatorPlayerOut(player_ref=player_ref, state=state, cases=cases)

    @get(
        "/logs/{event_type:str}",
        sync_to_thread=True,
        summary="Raw events of a category (type or type prefix) in a time range, cursor-paginated",
        description=(
            "`from`/`to` bound `recorded_at` ([from, to)). "
            f"Each page scans at most {SCAN_LIMIT:,} events, so a page may hold fewer than `limit` events "
            "and still carry `next_cursor`. `format=ndjson` "
            "streams one event per line (the cursor is then in the `Next-Cursor` header)."
        ),
        operation_class=NdjsonOperation,
        responses={
            200: ResponseSpec(data_container=LogPage, description="One page of events"),
            **responses(503),
        },
    )
    def logs(
        self,
        ld: NamedDependency[LedgerDeps],
        event_type: Annotated[str, PathParameter(pattern=EVENT_TYPE_PREFIX)],
        since: Annotated[Timestamp | None, QueryParameter(name="from")] = None,
        until: Annotated[Timestamp | None, QueryParameter(name="to")] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=40)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        fmt: Annotated[Literal["json", "ndjson"], QueryParameter(name="format")] = "json",
    ) -> Response[Any]:
        """One page of events of the category."""
        lo, hi = _instant(since, "from"), _instant(until, "to")
        events, nxt = ld.ledger.scan(event_type, since=lo, until=hi, start=_cursor(cursor), limit=limit)
        token = _make_cursor(nxt) if nxt is not None else None
        if fmt == "ndjson":
            headers = {"Next-Cursor": token} if token else {}
            return Response(_ndjson(events), media_type=NDJSON, headers=headers)
        return Response(LogPage(events=events, next_cursor=token))

    @get(
        "/reports/mga/compliance",
        sync_to_thread=True,
        media_type=XML,
        summary="MGA daily compliance summary (B2CCompSmryRpt XML) of a UTC day",
        description=(
            "Valid against MGA's `B2CSmryCompliance.xsd` (Enhanced Automated Reporting 20210201), built "
            "from the report-facts projection for the players of the licences in "
            "`LEDGER_MGA_JURISDICTIONS`: one `CCY` per currency, exact amounts at the currency's scale. "
            "422 for a malformed day, a day not yet ended, or a non-EUR currency without `base_rates`; "
            "404 for a day without report facts. What each element holds: docs/reports.md."
        ),
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type=XML,
                description="The report (UTF-8 XML)",
                generate_examples=False,
            ),
            **responses(404, 503),
        },
    )
    def mga_compliance(
        self,
        ld: NamedDependency[LedgerDeps],
        deps: NamedDependency[ApiDeps],
        day: Day,
        base_rates: BaseRates = None,
    ) -> Response[bytes]:
        """The day's report, stamped (``CrtDtTm``) now."""
        reporting = reporting_of(deps)
        report = mga_report(
            views_of(ld),
            parse_day(day),
            reporting.mga,
            created_at=LedgerTimestamp.from_epoch_ms(reporting.clock.now_ms()),
            base_rates=parse_base_rates(base_rates),
        )
        disposition = f'inline; filename="B2CCompSmryRpt-{day}.xml"'
        return Response(report, media_type=XML, headers={"Content-Disposition": disposition})


def reporting_of(deps: ApiDeps) -> ReportingDeps:
    """The reporting configuration, or a 503 when this deployment has none.

    Raises:
        StorageError: none wired.
    """
    if deps.reporting is None:
        raise StorageError("regulator reports are not available in this deployment")
    return deps.reporting


def _ndjson(events: list[Any]) -> bytes:
    enc = msgspec.json.Encoder()
    return b"".join(enc.encode(e) + b"\n" for e in events)
