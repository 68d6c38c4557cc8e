"""Composition of the proof machinery: the WORM store and the signing keyring from Settings."""

from __future__ import annotations

from infra.settings import Settings
from infra.signing import Keyring
from infra.worm import LocalWormStore, S3WormStore, s3_client
from ledger.ports import Clock
from ledger.worm import WormStore


def build_worm(settings: Settings) -> WormStore:
    """Return the configured WORM store (``LEDGER_WORM``: local folder or S3 Object Lock).

    The S3 bucket is not created here: it is infrastructure (Terraform in production,
    :meth:`S3WormStore.create_bucket` in tests and development).
    """
    if settings.worm == "s3":
        client = s3_client(settings.s3_endpoint, settings.s3_region)
        return S3WormStore(client, settings.s3_bucket)
    return LocalWormStore(settings.worm_dir)


def build_keyring(settings: Settings, clock: Clock | None = None) -> Keyring:
    """Return the signing keyring in ``LEDGER_SIGNING_DIR`` (read lazily, on every use)."""
    return Keyring(settings.signing_dir, clock)
