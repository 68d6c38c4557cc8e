"""The WORM port: create-only, retention-locked object storage for signed checkpoints.

A ``put`` never overwrites: if the key exists with identical bytes the write is a success
(so a retry after a crash is safe) and returns the receipt of the object already there;
with different bytes it is a ``ConflictError`` and the stored object stays as it was.
Retention is fixed by the first successful write.
"""

from __future__ import annotations

import re
from typing import Final, Protocol

import msgspec

from ledger.catalogue.anchoring import WormKind
from ledger.errors import ValidationError

CHECKPOINT_PREFIX: Final = "checkpoints/"
SIDECAR_SUFFIX: Final = ".retention.json"
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_MAX_KEY = 512
_SIZE_DIGITS = 20


class WormReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """What the store reports about a written object.

    ``retain_until`` is UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ`` as the store recorded it (S3 keeps
    whole seconds); ``sha256`` is the hex digest of the object bytes; ``mode`` is the lock
    mode the store enforces (``COMPLIANCE`` on S3; ``None`` for a local folder, which only
    marks files read-only and so enforces nothing against its owner).
    """

    store: WormKind
    key: str
    version_id: str | None = None
    etag: str | None = None
    retain_until: str
    sha256: str
    mode: str | None = None


class WormStore(Protocol):
    """Create-only object storage with retention (local folder or S3 Object Lock)."""

    @property
    def kind(self) -> str:
        """The store's kind, ``local`` or ``s3``: its receipts' ``store`` and its anchor stream."""
        ...

    def put(self, key: str, data: bytes, retain_until: str) -> WormReceipt:
        """Write ``data`` under ``key`` once, retained until ``retain_until``.

        Raises:
            ConflictError: ``key`` holds different bytes (they are left untouched).
            ValidationError: the key or the timestamp is malformed.
            StorageError: the store failed or did not apply the retention.
        """
        ...

    def get(self, key: str) -> bytes:
        """Return the object's bytes.

        Raises:
            NotFoundError: no object under ``key``.
        """
        ...

    def head(self, key: str) -> WormReceipt:
        """Return the object's receipt (retention as the store reports it).

        Raises:
            NotFoundError: no object under ``key``.
        """
        ...

    def keys(self, prefix: str = "") -> list[str]:
        """Return every object key starting with ``prefix``, sorted."""
        ...


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key (``a/b.note``).

    Segments are letters, digits, ``._-``, never starting with a dot (no ``..``, no hidden
    files); the retention sidecar suffix is reserved.

    Raises:
        ValidationError: anything else.
    """
    ok = (
        0 < len(key) <= _MAX_KEY
        and all(_SEGMENT.fullmatch(s) for s in key.split("/"))
        and not key.endswith(SIDECAR_SUFFIX)
    )
    if not ok:
        raise ValidationError(f"expected a relative key like checkpoints/x.note, got {key!r}", field="key")
    return key


def checkpoint_key(origin_slug_free: str, size: int) -> str:  # noqa: ARG001 - see below
    """Return the object key of the checkpoint at tree ``size``: ``checkpoints/<20 digits>.note``.

    The origin is deliberately not part of the key (one bucket or folder per log; origins
    contain ``/``); the parameter is kept so a multi-log layout can change this in one place.
    Twenty zero-padded digits hold any uint64 size and sort in size order.

    Raises:
        ValidationError: ``size`` is negative or needs more than 20 digits.
    """
    if not 0 <= size < 10**_SIZE_DIGITS:
        raise ValidationError(f"must be 0..10**20-1, got {size}", field="size")
    return f"{CHECKPOINT_PREFIX}{size:020d}.note"
