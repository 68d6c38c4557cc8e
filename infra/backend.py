"""The one seam of a storage backend: everything one technology stores, opened from one object.

``infra.sqlite.SqliteBackend`` and ``infra.postgres.PostgresBackend`` satisfy it; the
composition root picks one (``infra.wiring.bootstrap.open_backend``) and the tests use the
same classes. Backends are small frozen values, so a worker process can be handed one.
"""

from __future__ import annotations

from typing import Protocol

from infra.cipher import KeyTable
from infra.verification import ResultStore
from ledger.merkle_log import TreeStore
from ledger.ports import EventStore
from projections.ports import ViewStore


class Backend(Protocol):
    """Opens each store of one backend (the caller closes what it opens)."""

    def events(self) -> EventStore:
        """Open the event store."""
        ...

    def tree(self) -> TreeStore:
        """Open the Merkle tree and checkpoint tables."""
        ...

    def keys(self) -> KeyTable:
        """Open the wrapped data-key table."""
        ...

    def views(self) -> ViewStore:
        """Open the projection views."""
        ...

    def results(self) -> ResultStore:
        """Open the verification results."""
        ...
