"""Everything the embedded store keeps in SQLite: events, tree, views, results (one file), keys (another).

:class:`SqliteBackend` is the backend's one seam: the composition root and the tests open
every adapter through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.sqlite.events import SqliteEventStore
from infra.sqlite.keys import SqliteKeyTable
from infra.sqlite.results import SqliteResultStore
from infra.sqlite.tree import SqliteTreeStore
from infra.sqlite.views import SqliteViewStore


@dataclass(frozen=True)
class SqliteBackend:
    """The SQLite file ``path`` (events, tree, views, results) and the key file ``keys_path``."""

    path: str
    keys_path: str

    def events(self) -> SqliteEventStore:
        """Open the event store."""
        return SqliteEventStore(self.path)

    def tree(self) -> SqliteTreeStore:
        """Open the Merkle tree and checkpoint tables."""
        return SqliteTreeStore(self.path)

    def keys(self) -> SqliteKeyTable:
        """Open the wrapped data-key table."""
        return SqliteKeyTable(self.keys_path)

    def views(self) -> SqliteViewStore:
        """Open the projection views."""
        return SqliteViewStore(self.path)

    def results(self) -> SqliteResultStore:
        """Open the verification results."""
        return SqliteResultStore(self.path)


__all__ = [
    "SqliteBackend",
    "SqliteEventStore",
    "SqliteKeyTable",
    "SqliteResultStore",
    "SqliteTreeStore",
    "SqliteViewStore",
]
