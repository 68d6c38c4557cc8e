"""Composition of the HTTP API from Settings: ledgers, proofs, views, exporter, sandbox, auth, tracing."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar import Litestar
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from api.app import create_app
from api.deps import ApiDeps, AuthConfig, Bundle, LedgerDeps, ReportingDeps
from infra.backend import Backend
from infra.clock import SystemClock
from infra.settings import Settings, env_name
from infra.wiring.bootstrap import (
    build_keyring,
    build_ledger,
    build_sealer,
    build_verification,
    dev_secret,
    mga_config,
    open_backend,
)
from infra.wiring.sandbox import prepare_sandbox, sandbox_settings
from ledger.bundle import ExportScope, export_bundle
from ledger.catalogue.types import Timestamp
from ledger.errors import NotFoundError, ValidationError
from ledger.merkle_log import MerkleLog
from ledger.ports import EventStore
from projections.ports import ViewStore
from projections.registry import all_projections
from projections.rounds import reconstruct_round


def _now() -> str:
    return Timestamp.from_epoch_ms(SystemClock().now_ms()).canonical()


class ThreadViews:
    """One view-store connection per thread (SQLite connections are not shared across threads)."""

    def __init__(self, factory: Callable[[], ViewStore]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._opened: list[ViewStore] = []
        self._lock = threading.Lock()

    def _views(self) -> ViewStore:
        views: ViewStore | None = getattr(self._local, "views", None)
        if views is None:
            views = self._factory()
            self._local.views = views
            with self._lock:
                self._opened.append(views)
        return views

    def __getattr__(self, name: str) -> Any:
        return getattr(self._views(), name)

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for v in self._opened:
                v.close()
            self._opened.clear()


def _views(backend: Backend) -> ThreadViews:
    def factory() -> ViewStore:
        views = backend.views()
        views.ensure([t for p in all_projections() for t in p.tables])
        return views

    return ThreadViews(factory)


def _lag(store: EventStore, views: ViewStore) -> Callable[[], dict[str, int]]:
    names = [p.name for p in all_projections()]

    def lag() -> dict[str, int]:
        tracked, head = views.tracking(), store.size()
        return {n: max(0, head - (tracked[n].position if n in tracked else 0)) for n in names}

    return lag


def _round_positions(views: ViewStore | None, round_id: str) -> list[int]:
    if views is None:
        return []
    try:
        positions: list[int] = reconstruct_round(views, round_id)["positions"]
    except NotFoundError:
        return []
    return positions


def _exporter(settings: Settings, ledger_deps: LedgerDeps) -> Callable[[ExportScope], Bundle]:
    def export(scope: ExportScope) -> Bundle:
        if scope.kind == "round":
            # The round projection links the round's jackpot and wallet events by position.
            scope = ExportScope.round(scope.value, _round_positions(ledger_deps.views, scope.value))
        data, summary = export_bundle(
            ledger_deps.ledger.store,
            MerkleLog(ledger_deps.tree_store),
            ledger_deps.tree_store,
            build_keyring(settings).export_public(),
            scope,
            origin=settings.origin,
            created_at=_now(),
        )
        return Bundle(data, f"{scope.label}.zip", dataclasses.asdict(summary))

    return export


def auth_config(settings: Settings) -> AuthConfig:
    """Token verification from settings: an HS256 development secret or a public key file.

    Raises:
        ValidationError: the key file is missing or unreadable.
    """
    auth = settings.auth
    if auth.algorithm == "HS256":
        key = auth.secret or dev_secret(settings)
    else:
        where = env_name("auth", "public_key_path")
        if not auth.public_key_path:
            raise ValidationError("EdDSA/RS256 need a public key file", field=where)
        try:
            key = Path(auth.public_key_path).read_text()
        except OSError as e:
            raise ValidationError(f"cannot read: {e.strerror}", field=where) from None
    return AuthConfig(
        algorithm=auth.algorithm,
        key=key,
        issuer=auth.issuer,
        audience=auth.audience,
        ip_allow=list(auth.ip_allow),
        cert_header=auth.client_cert_header,
        cert_roles=dict(auth.client_cert_roles),
        trusted_proxies=list(auth.trusted_proxies),
    )


def _ledger_deps(
    settings: Settings, backend: Backend, *, sandbox: bool = False
) -> tuple[LedgerDeps, list[Callable[[], object]]]:
    ledger = build_ledger(settings, backend)
    tree_store = backend.tree()
    views = _views(backend)
    ld = LedgerDeps(ledger=ledger, tree_store=tree_store, views=views, sandbox=sandbox)
    return ld, [views.close, tree_store.close, ledger.close]


def build_deps(
    settings: Settings,
    *,
    tracer_provider: TracerProvider | None = None,
    record_access: bool = True,
    sandbox: bool = True,
) -> ApiDeps:
    """Wire every dependency of the app (the caller owns the returned deps' resources)."""
    backend = open_backend(settings)
    main, closers = _ledger_deps(settings, backend)
    sb: LedgerDeps | None = None
    if sandbox and settings.sandbox_events > 0:
        sb_settings = sandbox_settings(settings)
        if not Path(sb_settings.sandbox_path).exists():
            prepare_sandbox(settings)
        sb, more = _ledger_deps(sb_settings, open_backend(sb_settings), sandbox=True)
        closers = [*more, *closers]
    results = backend.results()
    closers.insert(0, results.close)
    provider = tracer_provider or TracerProvider(
        resource=Resource.create({"service.name": "audit-ledger"}),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    return ApiDeps(
        main=main,
        auth=auth_config(settings),
        sandbox=sb,
        sealer=build_sealer(settings, main.ledger, main.tree_store),
        exporter=_exporter(settings, main),
        verification=build_verification(settings, backend, main.ledger.store, main.tree_store, results),
        reporting=ReportingDeps(mga=mga_config(settings), clock=SystemClock()),
        projection_lag=_lag(main.ledger.store, main.views) if main.views is not None else None,
        record_access=record_access,
        metrics_multiprocess_dir=settings.serve.metrics_dir,
        tracer_provider=provider,
        jurisdiction=settings.jurisdiction,
        on_shutdown=closers,
    )


def build_app(settings: Settings, **kwargs: Any) -> Litestar:
    """The service: ``create_app`` over everything wired from ``settings``."""
    return create_app(build_deps(settings, **kwargs))
