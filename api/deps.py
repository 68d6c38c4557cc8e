"""What the app factory is given: the ledger, its proofs and views, and the config derived from settings.

``api`` never imports ``infra``: the composition root (``infra.wiring.api``) builds an
:class:`ApiDeps` and hands it to :func:`api.app.create_app`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ledger.application import Ledger
from ledger.bundle import ExportScope
from ledger.merkle_log import TreeStore
from ledger.ports import Clock
from ledger.proofs import Proofs
from ledger.sealer import Sealer
from projections.mga import MgaConfig
from projections.ports import ViewStore


@dataclass(frozen=True)
class Bundle:
    """An evidence bundle (zip bytes), its download name and the exporter's summary."""

    data: bytes
    filename: str
    summary: dict[str, Any]


Exporter = Callable[[ExportScope], Bundle]


@runtime_checkable
class VerificationLog(Protocol):
    """The last full verification of the ledger, and a way to run one."""

    def last(self) -> dict[str, Any] | None:
        """The last result (``ok``, counts or the located failure, ``finished_at``), if any."""
        ...

    def run(self) -> dict[str, Any]:
        """Verify every chain, the tree, every checkpoint and WORM copy now; store and return the result."""
        ...


@dataclass(frozen=True)
class AuthConfig:
    """How bearer tokens are verified, and the optional network-level restrictions.

    ``key`` is the HS256 secret (development only) or the PEM public key for EdDSA/RS256.
    ``cert_roles`` maps a client-certificate subject (set by the TLS terminator in
    ``cert_header``) to a role; it is honoured only from a peer in ``trusted_proxies``.
    """

    algorithm: str
    key: str
    issuer: str
    audience: str
    ip_allow: Sequence[str] = ()
    cert_header: str | None = None
    cert_roles: dict[str, str] = field(default_factory=dict)
    trusted_proxies: Sequence[str] = ("127.0.0.1/32", "::1/128")


@dataclass(frozen=True)
class LedgerDeps:
    """One ledger instance and what reads it: production, or the synthetic sandbox."""

    ledger: Ledger
    tree_store: TreeStore
    views: ViewStore | None = None
    sandbox: bool = False

    @property
    def proofs(self) -> Proofs:
        """Inclusion proofs of this ledger's records in its tree."""
        return self.ledger.proofs(self.tree_store)


@dataclass(frozen=True)
class ReportingDeps:
    """What regulator reports need beside the views: the filing operator and the clock of ``CrtDtTm``."""

    mga: MgaConfig
    clock: Clock


@dataclass(frozen=True)
class ApiDeps:
    """Everything ``create_app`` needs; optional parts switch their routes to 503 when absent."""

    main: LedgerDeps
    auth: AuthConfig
    sandbox: LedgerDeps | None = None
    sealer: Sealer | None = None
    exporter: Exporter | None = None
    verification: VerificationLog | None = None
    reporting: ReportingDeps | None = None
    projection_lag: Callable[[], dict[str, int]] | None = None
    record_access: bool = True
    metrics_multiprocess_dir: str | None = None
    tracer_provider: Any = None
    jurisdiction: str = "MT"
    on_shutdown: Sequence[Callable[[], object]] = ()
