"""The port through which projections keep their views: keyed documents plus tracking.

A view table holds rows ``(key, version, data)``: ``data`` is the canonical JSON of one
document (``ledger.encoding.canonical``), ``version`` the version of the projection that
wrote it. ``commit`` writes documents and advances tracking positions in one transaction,
and only if every projection is still where the caller read it (optimistic concurrency),
so two runners can never count an event twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Tracking:
    """Where a projection stands: the version that built its rows and the next position to fold."""

    version: int
    position: int


@dataclass(frozen=True, slots=True)
class Move:
    """Advance projection ``name`` (at ``version``) from position ``start`` to ``end``."""

    name: str
    version: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TableWrites:
    """The rows one table gets in a commit: ``None`` deletes the key."""

    version: int
    rows: Mapping[str, bytes | None]


def upper_bound(prefix: str) -> str:
    """Return a string greater than every key starting with ``prefix`` (keys never hold U+10FFFF)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\U0010ffff"


class ViewStore(Protocol):
    """Durable views and tracking beside the events (same SQLite file / PostgreSQL schema)."""

    def ensure(self, tables: Collection[str]) -> None:
        """Create the tracking table and the named view tables if missing."""
        ...

    def tracking(self) -> dict[str, Tracking]:
        """Every projection's tracking row."""
        ...

    def load(self, table: str, keys: Collection[str]) -> dict[str, Doc]:
        """The documents of ``table`` stored under ``keys`` (absent keys are left out)."""
        ...

    def commit(self, writes: Mapping[str, TableWrites], moves: Sequence[Move]) -> None:
        """Write rows and advance tracking in one transaction.

        Raises:
            ConflictError: a projection is no longer at ``move.start`` (another runner moved it).
            StorageError: the database failed; nothing was written.
        """
        ...

    def reset(self, name: str, version: int, tables: Collection[str]) -> None:
        """Empty ``tables`` and set ``name`` to position 0 at ``version``, in one transaction."""
        ...

    def get(self, table: str, key: str) -> Doc | None:
        """One document, or ``None``."""
        ...

    def scan(self, table: str, prefix: str, limit: int | None = None) -> list[Doc]:
        """Documents whose key starts with ``prefix``, in key order."""
        ...

    def scan_raw(self, table: str, prefix: str, limit: int | None = None) -> list[bytes]:
        """Like ``scan``, but the stored canonical JSON bytes (for serving without re-encoding)."""
        ...

    def digest(self, table: str) -> str:
        """SHA-256 over every row of ``table`` in key order (key, version, data)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
