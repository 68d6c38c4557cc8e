"""The composition root: Settings in, objects out.

This is the one module that reads Settings to choose classes: ``open_backend`` is the only
switch on the store kind and ``build_worm`` the only switch on the WORM kind. Services
built here receive their collaborators, never Settings.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from infra.backend import Backend
from infra.cipher import AesGcmFieldCipher
from infra.clock import SystemClock
from infra.postgres import PostgresBackend
from infra.settings import LocalWorm, PostgresStore, S3Worm, Settings, SqliteStore, env_name
from infra.signing import Keyring
from infra.sqlite import SqliteBackend
from infra.verification import ResultStore, StoredVerificationLog, Trust
from infra.wiring.processes import ProcessRanges
from infra.worm import LocalWormStore, S3WormStore, s3_client
from ledger.application import Ledger
from ledger.errors import ValidationError
from ledger.merkle_log import MerkleLog, TreeStore
from ledger.ports import Clock, EventStore
from ledger.sealer import Sealer
from ledger.worm import WormStore
from policies.retention import POLICY_VERSION, retain_until
from projections.mga import MgaConfig
from projections.ports import ViewStore
from projections.registry import all_projections
from projections.runner import Projection, ProjectionRunner


def open_backend(settings: Settings) -> Backend:
    """Return the configured storage backend (``LEDGER_STORE``: SQLite files or a PostgreSQL schema)."""
    match settings.store:
        case PostgresStore(dsn=dsn, schema=schema, pool_size=pool_size):
            return PostgresBackend(dsn, schema, pool_size)
        case SqliteStore(path=path, keys_path=keys_path):
            return SqliteBackend(path, keys_path)


def load_kek(settings: Settings) -> bytes:
    """Return the key-encryption key: from settings, else the local file (created if absent).

    Raises:
        ValidationError: the configured key is not 32 bytes of base64.
    """
    text = settings.kek
    if text is None:
        path = Path(settings.kek_path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        text = path.read_text().strip()
    try:
        kek = base64.b64decode(text, validate=True)
    except ValueError:
        kek = b""
    if len(kek) != 32:  # noqa: PLR2004 - AES-256
        msg = "must be 32 random bytes, base64-encoded (e.g. `openssl rand -base64 32`)"
        raise ValidationError(msg, field=env_name("kek") if settings.kek else settings.kek_path)
    return kek


def dev_secret(settings: Settings) -> str:
    """Return the local HS256 secret (created on first use, mode 0600): for development only."""
    path = Path(settings.auth.secret_path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(32).hex() + "\n")
        except FileExistsError:
            pass
    return path.read_text().strip()


def build_ledger(settings: Settings, backend: Backend) -> Ledger:
    """Wire the ledger: the backend's event store and key table, the cipher, the clock."""
    cipher = AesGcmFieldCipher(backend.keys(), load_kek(settings))
    return Ledger(backend.events(), cipher, SystemClock(), group_commit=settings.group_commit)


def build_worm(settings: Settings) -> WormStore:
    """Return the configured WORM store (``LEDGER_WORM``: local folder or S3 Object Lock).

    The S3 bucket is not created here: it is infrastructure (Terraform in production,
    :meth:`S3WormStore.create_bucket` in tests and development).
    """
    match settings.worm:
        case S3Worm(endpoint=endpoint, bucket=bucket, region=region):
            return S3WormStore(s3_client(endpoint, region), bucket)
        case LocalWorm(dir=folder):
            return LocalWormStore(folder)


def build_keyring(settings: Settings, clock: Clock | None = None) -> Keyring:
    """Return the signing keyring in ``LEDGER_SIGNING_DIR`` (read lazily, on every use)."""
    return Keyring(settings.signing_dir, clock)


def build_sealer(settings: Settings, ledger: Ledger, tree_store: TreeStore) -> Sealer:
    """Wire the sealer over ``tree_store``: signing keyring, WORM store, retention policy.

    On the embedded default (local WORM folder) a missing keyring is created, as the
    key-encryption key is; with S3 anchoring the keyring must exist (``ledger keys init``).
    """
    ring = build_keyring(settings)
    if isinstance(settings.worm, LocalWorm) and not ring.path.exists():
        ring = Keyring.init(settings.signing_dir, settings.origin)

    def retention(types: Iterable[str], sealed_at: str) -> tuple[str, str, str]:
        until, category = retain_until(types, sealed_at)
        return until, category, POLICY_VERSION

    return Sealer(
        ledger,
        ledger.store,
        tree_store,
        ring.active_signer,
        build_worm(settings),
        SystemClock(),
        retention,
        origin=settings.origin,
        jurisdiction=settings.jurisdiction,
    )


def build_trust(settings: Settings) -> Trust:
    """What verification checks against: the keyring's public keys, the WORM store, the origin."""
    return Trust(build_keyring(settings).verifiers, build_worm(settings), settings.origin)


def build_verification(
    settings: Settings,
    backend: Backend,
    store: EventStore,
    tree_store: TreeStore,
    results: ResultStore,
    *,
    processes: int = 1,
    pause_gc: bool = False,
) -> StoredVerificationLog:
    """Wire full verification; with ``processes`` > 1 ranges are checked in worker processes."""
    ranges = ProcessRanges(backend, store, MerkleLog(tree_store), processes) if processes > 1 else None
    return StoredVerificationLog(
        store, tree_store, results, build_trust(settings), SystemClock(), ranges=ranges, pause_gc=pause_gc
    )


def build_runner(
    settings: Settings, store: EventStore, views: ViewStore, projections: Sequence[Projection] | None = None
) -> ProjectionRunner:
    """Return a runner over every projection (or ``projections``) of the given stores."""
    chosen = all_projections() if projections is None else projections
    return ProjectionRunner(store, views, chosen, batch=settings.projection_batch)


def mga_config(settings: Settings) -> MgaConfig:
    """Return who files MGA reports and whose players they cover (``LEDGER_MGA_*``)."""
    return MgaConfig(
        operator=settings.mga.operator, urls=settings.mga.urls, jurisdictions=settings.mga.jurisdictions
    )
