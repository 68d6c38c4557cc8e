"""Operations: health, readiness, metrics (no auth); admin: seal and verify now (``admin``)."""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency

from api.deps import ApiDeps, LedgerDeps, VerificationLog
from api.errors import problem_spec, responses
from api.observability import LedgerCollector, render_metrics
from api.routes.common import checkpoint_out
from api.routes.proofs import verification_of, verification_out
from api.schemas import HealthOut, ReadyOut, SealOut, VerificationOut
from api.security import EXCLUDE_KEY, SECURITY
from ledger.catalogue.types import Timestamp
from ledger.checkpoint import parse_checkpoint
from ledger.errors import LedgerError, StorageError

PUBLIC = {EXCLUDE_KEY: True}


def ready_state(deps: NamedDependency[ApiDeps]) -> ReadyOut:
    """Probe the store and the tree; report projections' lag.

    Raises:
        StorageError: the store does not answer.
    """
    ld = deps.main
    events = ld.ledger.size()
    tree = ld.tree_store.tree_size()
    lag = deps.projection_lag() if deps.projection_lag is not None else {}
    return ReadyOut(status="ready", events=events, tree_size=tree, projection_lag=lag)


class OpsController(Controller):
    """``/health``, ``/ready``, ``/metrics``."""

    path = "/"
    tags = ["operations"]  # noqa: RUF012

    @get("/health", opt=PUBLIC, summary="Liveness", security=[])
    async def health(self) -> HealthOut:
        """Always ok while the process serves."""
        return HealthOut(status="ok")

    @get(
        "/ready",
        opt=PUBLIC,
        sync_to_thread=True,
        summary="Readiness: the store answers; projections' lag",
        security=[],
        responses={503: problem_spec("The store does not answer")},
    )
    def ready(self, deps: NamedDependency[ApiDeps]) -> ReadyOut:
        """Ready when the event store and the tree answer."""
        return ready_state(deps)

    @get("/metrics", opt=PUBLIC, sync_to_thread=True, include_in_schema=False, media_type="text/plain")
    def metrics(self, deps: NamedDependency[ApiDeps]) -> Response[bytes]:
        """Prometheus exposition (every worker's counters, scrape-time ledger gauges)."""
        body = render_metrics(LedgerCollector(lambda: gauges(deps)), deps.metrics_multiprocess_dir)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def gauges(deps: NamedDependency[ApiDeps]) -> dict[str, Any]:
    """Scrape-time values (a failing read leaves its gauge out rather than failing the scrape)."""
    out: dict[str, Any] = {}
    ld = deps.main
    try:
        out["ledger_events"] = ld.ledger.size()
        out["ledger_tree_size"] = ld.tree_store.tree_size()
        latest = ld.tree_store.latest_checkpoint()
        if latest is not None:
            cp, _ = parse_checkpoint(latest[1])
            out["ledger_checkpoint_size"] = cp.size
            out["ledger_checkpoint_age_seconds"] = _age(cp.timestamp)
        if (anchored_at := ld.ledger.last_anchor_at()) is not None:
            out["ledger_anchoring_age_seconds"] = _age(anchored_at)
        if deps.projection_lag is not None:
            out["lag"] = deps.projection_lag()
        if deps.verification is not None and (last := deps.verification.last()) is not None:
            out["ledger_verification_ok"] = 1 if last.get("ok") else 0
            out["ledger_verification_age_seconds"] = _age(str(last.get("finished_at")))
    except LedgerError:
        pass
    return out


def _age(stamp: str) -> float | None:
    try:
        return max(0.0, time.time() - Timestamp.parse(stamp).timestamp())
    except ValueError:
        return None


class AdminController(Controller):
    """``POST /admin/seal`` and ``POST /admin/verification``."""

    path = "/admin"
    tags = ["admin"]  # noqa: RUF012
    security = SECURITY

    @post(
        "/seal",
        sync_to_thread=True,
        status_code=200,
        summary="Seal now: extend the Merkle log, sign a checkpoint, anchor it in WORM storage",
        responses=responses(409, 503),
    )
    def seal(self, deps: NamedDependency[ApiDeps]) -> SealOut:
        """Seal everything appended so far."""
        if deps.sealer is None:
            raise StorageError("sealing is not available in this deployment")
        result = deps.sealer.seal()
        latest = deps.main.tree_store.checkpoint(result.checkpoint.size) if result.checkpoint else None
        return SealOut(
            tree_size=result.tree_size,
            leaves_added=result.leaves_added,
            checkpoint=checkpoint_out(latest) if latest is not None else None,
            anchored=[r.key for r in result.anchored],
        )

    @post(
        "/verification",
        sync_to_thread=True,
        status_code=200,
        summary="Run a full verification now and store its result",
        responses=responses(503),
    )
    def verify(self, verification: NamedDependency[VerificationLog | None]) -> VerificationOut:
        """Verify every chain, the tree, every checkpoint and WORM copy."""
        return verification_out(verification_of(verification).run())


__all__ = ["AdminController", "LedgerDeps", "OpsController"]
