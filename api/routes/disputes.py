"""Dispute handlers (``dispute_handler``) and compliance officers (``compliance_officer``)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from api.deps import Bundle, Exporter, LedgerDeps
from api.errors import NotConfiguredError, responses
from api.params import Flag, RefPath
from api.routes.common import proofs_for, views_of
from api.schemas import DocOut
from api.security import SECURITY
from ledger.bundle import ExportScope
from projections.cases import case_view
from projections.rounds import reconstruct_round
from projections.state import lookup

ZIP = "application/zip"


def bundle_response(bundle: Bundle) -> Response[bytes]:
    """The evidence bundle as a download."""
    headers = {
        "Content-Disposition": f'attachment; filename="{bundle.filename}"',
        "X-Bundle-Events": str(bundle.summary.get("events", "")),
        "X-Bundle-Checkpoint": str(bundle.summary.get("checkpoint_size", "")),
    }
    if bundle.summary.get("reason"):
        headers["X-Bundle-Left-Out"] = str(bundle.summary["reason"]).replace("\n", " ")[:500]
    return Response(bundle.data, media_type=ZIP, headers=headers)


BUNDLE_RESPONSE = {
    200: ResponseSpec(data_container=bytes, media_type=ZIP, description="The evidence bundle (zip)"),
    **responses(404, 503),
}


def exporter_of(exporter: NamedDependency[Exporter | None]) -> Exporter:
    """The bundle exporter, or a 503 when this deployment has none.

    Raises:
        NotConfiguredError: no exporter is wired.
    """
    if exporter is None:
        raise NotConfiguredError("evidence bundles")
    return exporter


class RoundsController(Controller):
    """``/rounds/{round_id}`` and its evidence bundle."""

    path = "/rounds"
    tags = ["disputes"]  # noqa: RUF012
    security = SECURITY

    @get(
        "/{round_id:str}",
        sync_to_thread=True,
        summary="A reconstructed game round; proofs=true adds inclusion proofs",
        responses=responses(404, 503),
    )
    def round(self, ld: NamedDependency[LedgerDeps], round_id: RefPath, proofs: Flag = False) -> DocOut:
        """The round document (steps, balances, jackpot, flags, positions)."""
        doc = reconstruct_round(views_of(ld), round_id)
        return DocOut(data=doc, proofs=proofs_for(ld, doc.get("positions", [])) if proofs else None)

    @get(
        "/{round_id:str}/bundle",
        sync_to_thread=True,
        summary="The round's evidence bundle (verify offline with `ledger verify-bundle`)",
        responses=BUNDLE_RESPONSE,
        media_type=ZIP,
    )
    def bundle(self, exporter: NamedDependency[Exporter | None], round_id: RefPath) -> Response[bytes]:
        """Export the round (its stream and the jackpot/wallet events linked to it) with proofs."""
        return bundle_response(exporter_of(exporter)(ExportScope.round(round_id)))


class ComplianceController(Controller):
    """``/cases/{case_id}`` and ``/players/{player_ref}``."""

    path = "/"
    tags = ["compliance"]  # noqa: RUF012
    security = SECURITY

    @get(
        "/cases/{case_id:str}",
        sync_to_thread=True,
        summary="An AML case (alerts, decisions, KYC/KYT, linked payments, SAR) or an incident",
        responses=responses(404, 503),
    )
    def case(self, ld: NamedDependency[LedgerDeps], case_id: RefPath) -> DocOut:
        """The case document."""
        return DocOut(data=case_view(views_of(ld), case_id))

    @get(
        "/players/{player_ref:str}",
        sync_to_thread=True,
        summary="A player's current state: KYC, RG limits, balances, risk, cases, bonuses",
        responses=responses(404, 503),
    )
    def player(self, ld: NamedDependency[LedgerDeps], player_ref: RefPath) -> DocOut:
        """The player document."""
        return DocOut(data=lookup(views_of(ld), "player", player_ref))
