"""Composition of the HTTP API from Settings: ledgers, proofs, views, exporter, sandbox, auth, tracing."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from api.app import create_app
from api.deps import ApiDeps, AuthConfig, Bundle, LedgerDeps, ReportingDeps
from infra.bootstrap import SystemClock, build_ledger, build_sealer, build_store, build_tree_store
from infra.projection_store import build_runner, build_views, mga_config
from infra.settings import Settings
from infra.verification import StoredVerificationLog, build_results
from infra.wiring_proofs import build_keyring
from ledger.bundle import ExportScope, export_bundle
from ledger.catalogue.types import Timestamp
from ledger.errors import LedgerError, NotFoundError, ValidationError
from ledger.merkle_log import MerkleLog
from ledger.ports import EventStore
from projections.ports import ViewStore
from projections.registry import all_projections
from projections.rounds import reconstruct_round

SANDBOX_SEED = 1007
SANDBOX_ORIGIN = "audit-ledger.sandbox/log"


def _now() -> str:
    return Timestamp.from_epoch_ms(SystemClock().now_ms()).canonical()


def sandbox_settings(settings: Settings) -> Settings:
    """Settings of the sandbox ledger: its own SQLite file, keys, signing key and WORM folder."""
    base = Path(settings.sandbox_path).parent
    return msgspec.structs.replace(
        settings,
        store="sqlite",
        sqlite_path=settings.sandbox_path,
        keys_path=str(base / "keys.sqlite3"),
        kek=None,
        kek_path=str(base / "kek.key"),
        signing_dir=str(base / "signing"),
        worm="local",
        worm_dir=str(base / "worm"),
        origin=SANDBOX_ORIGIN,
    )


def prepare_sandbox(settings: Settings) -> int:
    """Load the synthetic demo history into the sandbox ledger (idempotent), fold and seal it.

    Returns the number of events the sandbox holds.
    """
    from infra.cli_common import chunks  # noqa: PLC0415
    from infra.demo import demo_events  # noqa: PLC0415

    sb = sandbox_settings(settings)
    Path(sb.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    ledger = build_ledger(sb)
    try:
        for _ in ledger.append_all(chunks(demo_events(settings.sandbox_events, seed=SANDBOX_SEED), 1000)):
            pass
        sealer = build_sealer(sb, ledger)
        try:
            sealer.seal()
        finally:
            sealer.tree_store.close()
        size = ledger.store.size()
    finally:
        ledger.close()
    catch_up_views(sb)
    return size


def catch_up_views(settings: Settings) -> int:
    """Fold everything recorded into the projections (a no-op when current)."""
    store = build_store(settings)
    runner = build_runner(settings, store)
    try:
        return runner.catch_up()
    finally:
        runner.views.close()
        store.close()


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


def _views(settings: Settings) -> ThreadViews:
    def factory() -> ViewStore:
        views = build_views(settings)
        views.ensure([t for p in all_projections() for t in p.tables])
        return views

    return ThreadViews(factory)


def _lag(store: EventStore, views: ViewStore) -> Callable[[], dict[str, int]]:
    names = [p.name for p in all_projections()]

    def lag() -> dict[str, int]:
        tracked, head = views.tracking(), store.size()
        return {n: max(0, head - (tracked[n].position if n in tracked else 0)) for n in names}

    return lag


def _exporter(settings: Settings, ledger_deps: LedgerDeps) -> Callable[[ExportScope], Bundle]:
    def export(scope: ExportScope) -> Bundle:
        if scope.kind == "round":
            # The round projection links the round's jackpot and wallet events by position.
            views = build_views(settings)
            try:
                positions = reconstruct_round(views, scope.value)["positions"]
            except NotFoundError:
                positions = []
            finally:
                views.close()
            scope = ExportScope.round(scope.value, positions)
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
    if settings.jwt_algorithm == "HS256":
        key = settings.jwt_secret or dev_secret(settings)
    else:
        if not settings.jwt_public_key_path:
            raise ValidationError("EdDSA/RS256 need a public key file", field="LEDGER_JWT_PUBLIC_KEY_FILE")
        try:
            key = Path(settings.jwt_public_key_path).read_text()
        except OSError as e:
            raise ValidationError(f"cannot read: {e.strerror}", field="LEDGER_JWT_PUBLIC_KEY_FILE") from None
    roles = {}
    for item in settings.client_cert_roles.split(";"):
        subject, sep, role = item.rpartition("=")
        if sep and subject.strip():
            roles[subject.strip()] = role.strip()
    return AuthConfig(
        algorithm=settings.jwt_algorithm,
        key=key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ip_allow=[c for c in settings.ip_allow.split(",") if c.strip()],
        cert_header=settings.client_cert_header,
        cert_roles=roles,
        trusted_proxies=[c for c in settings.trusted_proxies.split(",") if c.strip()],
    )


def dev_secret(settings: Settings) -> str:
    """The local HS256 secret (created on first use, mode 0600): for development only."""
    path = Path(settings.jwt_secret_path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(32).hex() + "\n")
        except FileExistsError:
            pass
    return path.read_text().strip()


def _ledger_deps(
    settings: Settings, *, sandbox: bool = False
) -> tuple[LedgerDeps, list[Callable[[], object]]]:
    ledger = build_ledger(settings)
    tree_store = build_tree_store(settings)
    views = _views(settings)
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
    main, closers = _ledger_deps(settings)
    sb: LedgerDeps | None = None
    if sandbox and settings.sandbox_events > 0:
        sb_settings = sandbox_settings(settings)
        if not Path(sb_settings.sqlite_path).exists():
            prepare_sandbox(settings)
        sb, more = _ledger_deps(sb_settings, sandbox=True)
        closers = [*more, *closers]
    sealer = build_sealer(settings, main.ledger)
    closers.insert(0, sealer.tree_store.close)
    results = build_results(settings)
    closers.insert(0, results.close)
    provider = tracer_provider or TracerProvider(
        resource=Resource.create({"service.name": "audit-ledger"}),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    return ApiDeps(
        main=main,
        auth=auth_config(settings),
        sandbox=sb,
        sealer=sealer,
        exporter=_exporter(settings, main),
        verification=StoredVerificationLog(settings, main.ledger.store, main.tree_store, results),
        reporting=ReportingDeps(mga=mga_config(settings), clock=SystemClock()),
        projection_lag=_lag(main.ledger.store, main.views) if main.views is not None else None,
        record_access=record_access,
        metrics_multiprocess_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
        tracer_provider=provider,
        jurisdiction=settings.jurisdiction,
        on_shutdown=closers,
    )


def build_app(settings: Settings, **kwargs: Any) -> Litestar:
    """The service: ``create_app`` over everything wired from ``settings``."""
    return create_app(build_deps(settings, **kwargs))


__all__ = ["LedgerError", "build_app", "build_deps", "catch_up_views", "prepare_sandbox"]
