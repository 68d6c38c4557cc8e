"""Composition root: build the ledger and its adapters from Settings."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterable
from pathlib import Path

from infra.keys import AesGcmFieldCipher, PostgresKeyTable, SqliteKeyTable
from infra.settings import Settings
from ledger.application import Ledger
from ledger.errors import ValidationError
from ledger.merkle_log import TreeStore
from ledger.ports import EventStore
from ledger.sealer import Sealer


class SystemClock:
    """The machine's UTC clock."""

    def now_ms(self) -> int:
        """Milliseconds since the epoch."""
        return time.time_ns() // 1_000_000


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
        raise ValidationError(msg, field="LEDGER_KEK" if settings.kek else settings.kek_path)
    return kek


def build_store(settings: Settings) -> EventStore:
    """Open the configured event store (tables are created if missing)."""
    if settings.store == "postgres":
        from infra.postgres import PostgresEventStore, datastore  # noqa: PLC0415 - optional driver

        return PostgresEventStore(
            datastore(settings.pg_dsn, schema=settings.pg_schema, pool_size=settings.pg_pool_size)
        )
    from infra.sqlite import SqliteEventStore  # noqa: PLC0415

    return SqliteEventStore(settings.sqlite_path)


def build_ledger(settings: Settings) -> Ledger:
    """Wire the ledger: store, per-subject key table and cipher, clock."""
    store = build_store(settings)
    table: SqliteKeyTable | PostgresKeyTable
    if settings.store == "postgres":
        table = PostgresKeyTable(settings.pg_dsn, settings.pg_schema)
    else:
        table = SqliteKeyTable(settings.keys_path)
    cipher = AesGcmFieldCipher(table, load_kek(settings))
    return Ledger(store, cipher, SystemClock(), group_commit=settings.group_commit)


def build_tree_store(settings: Settings) -> TreeStore:
    """Open the Merkle tree and checkpoint tables beside the events."""
    from infra.tree import PostgresTreeStore, SqliteTreeStore  # noqa: PLC0415

    if settings.store == "postgres":
        return PostgresTreeStore(settings.pg_dsn, settings.pg_schema)
    return SqliteTreeStore(settings.sqlite_path)


def build_sealer(settings: Settings, ledger: Ledger) -> Sealer:
    """Wire the sealer: tree store, signing keyring, WORM store, retention policy.

    On the embedded default (local WORM folder) a missing keyring is created, as the
    key-encryption key is; with S3 anchoring the keyring must exist (``ledger keys init``).
    """
    from infra.signing import Keyring  # noqa: PLC0415 - signing imports this module's clock
    from infra.wiring_proofs import build_keyring, build_worm  # noqa: PLC0415
    from policies.retention import POLICY_VERSION, retain_until  # noqa: PLC0415

    ring = build_keyring(settings)
    if settings.worm == "local" and not ring.path.exists():
        ring = Keyring.init(settings.signing_dir, settings.origin)

    def retention(types: Iterable[str], sealed_at: str) -> tuple[str, str, str]:
        until, category = retain_until(types, sealed_at)
        return until, category, POLICY_VERSION

    return Sealer(
        ledger,
        ledger.store,
        build_tree_store(settings),
        ring.active_signer,
        build_worm(settings),
        SystemClock(),
        retention,
        origin=settings.origin,
        jurisdiction=settings.jurisdiction,
    )
