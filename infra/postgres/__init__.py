"""Everything the production store keeps in PostgreSQL: events, tree, views, keys, results (one schema).

:class:`PostgresBackend` is the backend's one seam: the composition root and the tests open
every adapter through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.postgres.events import PostgresEventStore, datastore
from infra.postgres.keys import PostgresKeyTable
from infra.postgres.results import PostgresResultStore
from infra.postgres.tree import PostgresTreeStore
from infra.postgres.views import PostgresViewStore


@dataclass(frozen=True)
class PostgresBackend:
    """The tables of schema ``schema`` in the database of ``dsn``."""

    dsn: str
    schema: str
    pool_size: int = 4

    def events(self) -> PostgresEventStore:
        """Open the event store (a connection pool of ``pool_size``)."""
        return PostgresEventStore(datastore(self.dsn, schema=self.schema, pool_size=self.pool_size))

    def tree(self) -> PostgresTreeStore:
        """Open the Merkle tree and checkpoint tables."""
        return PostgresTreeStore(self.dsn, self.schema)

    def keys(self) -> PostgresKeyTable:
        """Open the wrapped data-key table."""
        return PostgresKeyTable(self.dsn, self.schema)

    def views(self) -> PostgresViewStore:
        """Open the projection views."""
        return PostgresViewStore(self.dsn, self.schema)

    def results(self) -> PostgresResultStore:
        """Open the verification results."""
        return PostgresResultStore(self.dsn, self.schema)


__all__ = [
    "PostgresBackend",
    "PostgresEventStore",
    "PostgresKeyTable",
    "PostgresResultStore",
    "PostgresTreeStore",
    "PostgresViewStore",
    "datastore",
]
