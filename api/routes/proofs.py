"""Auditors (``auditor``): checkpoints, RFC 9162 proofs, bundle export, the last verification."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api.deps import Exporter, LedgerDeps, VerificationLog
from api.errors import responses
from api.params import MAX_SIZE, REF, STREAM, OptionalSizeQuery, SizePath, SizeQuery
from api.routes.common import checkpoint_out
from api.routes.disputes import BUNDLE_RESPONSE, bundle_response, exporter_of
from api.schemas import CheckpointOut, ConsistencyOut, VerificationOut
from api.security import SECURITY
from ledger.bundle import ExportScope
from ledger.errors import NotFoundError, StorageError, ValidationError
from ledger.merkle_log import MerkleLog
from ledger.proofs import PositionProof


def verification_out(result: dict[str, object] | None) -> VerificationOut:
    """The stored verification result as wire data.

    Raises:
        NotFoundError: no verification has run yet.
    """
    if result is None:
        raise NotFoundError(
            "no full verification has run yet (`ledger verify`, or POST /admin/verification)",
            field="verification",
        )
    return VerificationOut(
        ok=bool(result.get("ok")), finished_at=str(result.get("finished_at", "")), result=result
    )


def verification_of(log: VerificationLog | None) -> VerificationLog:
    """The verification log, or a 503 when none is wired.

    Raises:
        StorageError: none wired.
    """
    if log is None:
        raise StorageError("verification is not available in this deployment")
    return log


class ProofsController(Controller):
    """``/ledger/*``."""

    path = "/ledger"
    tags = ["auditors"]  # noqa: RUF012
    security = SECURITY

    @get(
        "/checkpoints/latest",
        sync_to_thread=True,
        summary="The latest signed checkpoint",
        responses=responses(404, 503),
    )
    def latest(self, ld: NamedDependency[LedgerDeps]) -> CheckpointOut:
        """The latest checkpoint note and its fields."""
        latest = ld.tree_store.latest_checkpoint()
        if latest is None:
            raise NotFoundError("no signed checkpoint yet", field="checkpoint")
        return checkpoint_out(latest[1])

    @get(
        "/checkpoints/{size:int}",
        sync_to_thread=True,
        summary="The signed checkpoint at a tree size",
        responses=responses(404, 503),
    )
    def at_size(self, ld: NamedDependency[LedgerDeps], size: SizePath) -> CheckpointOut:
        """One checkpoint by size."""
        note = ld.tree_store.checkpoint(size)
        if note is None:
            raise NotFoundError(f"no checkpoint at tree size {size}", field="size")
        return checkpoint_out(note)

    @get(
        "/proofs/inclusion",
        sync_to_thread=True,
        summary="RFC 9162 inclusion proof of the event at a global position",
        description="`size` defaults to the latest checkpoint's size.",
        responses=responses(404, 503),
    )
    def inclusion(
        self, ld: NamedDependency[LedgerDeps], position: SizeQuery, size: OptionalSizeQuery = None
    ) -> PositionProof:
        """The audit path of ``position`` in the tree of ``size`` leaves."""
        if size is None:
            latest = ld.tree_store.latest_checkpoint()
            if latest is None:
                raise NotFoundError("no signed checkpoint yet; give size", field="size")
            size = latest[0]
        if position >= size:
            raise ValidationError(f"position {position} is outside a tree of size {size}", field="position")
        return ld.proofs.inclusion(position, size)

    @get(
        "/proofs/consistency",
        sync_to_thread=True,
        summary="RFC 9162 consistency proof between two tree sizes",
        responses=responses(404, 503),
    )
    def consistency(
        self,
        ld: NamedDependency[LedgerDeps],
        first: Annotated[int, QueryParameter(name="from", ge=0, le=MAX_SIZE)],
        second: Annotated[int, QueryParameter(name="to", ge=0, le=MAX_SIZE)],
    ) -> ConsistencyOut:
        """The consistency path from the tree of ``from`` leaves to that of ``to``."""
        tree = MerkleLog(ld.tree_store)
        if first > second:
            raise ValidationError(f"from {first} is above to {second}", field="from")
        proof = tree.consistency(first, second)
        return ConsistencyOut(
            first=first,
            second=second,
            first_root=tree.root(first).hex(),
            second_root=tree.root(second).hex(),
            consistency_path=proof.consistency_path,
        )

    @get(
        "/export",
        sync_to_thread=True,
        summary="An evidence bundle for a stream, a round or a position range [start, end)",
        description="Give exactly one of `stream`, `round`, or `start` with `end`.",
        responses=BUNDLE_RESPONSE,
        media_type="application/zip",
    )
    def export(
        self,
        exporter: NamedDependency[Exporter | None],
        stream: Annotated[str | None, QueryParameter(pattern=STREAM)] = None,
        round_id: Annotated[str | None, QueryParameter(name="round", pattern=REF)] = None,
        start: OptionalSizeQuery = None,
        end: OptionalSizeQuery = None,
    ) -> Response[bytes]:
        """Export the bundle."""
        kinds = (stream is not None) + (round_id is not None) + (start is not None or end is not None)
        if kinds != 1 or (start is None) != (end is None):
            raise ValidationError("give exactly one of stream, round, or start and end", field="stream")
        if stream is not None:
            request = ExportScope.stream(stream)
        elif round_id is not None:
            request = ExportScope.round(round_id)
        else:
            start, end = start or 0, end or 0
            if start >= end:
                raise ValidationError(f"need start < end, got {start}:{end}", field="end")
            request = ExportScope.range(start, end)
        return bundle_response(exporter_of(exporter)(request))

    @get(
        "/verification",
        sync_to_thread=True,
        summary="The last full verification result (chains, tree, checkpoints, WORM copies)",
        responses=responses(404, 503),
    )
    def verification(self, verification: NamedDependency[VerificationLog | None]) -> VerificationOut:
        """The stored result of the last full verification."""
        return verification_out(verification_of(verification).last())
