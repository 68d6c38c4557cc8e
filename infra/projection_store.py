"""Wire the projection runner: the configured view store beside the configured event store."""

from __future__ import annotations

from collections.abc import Sequence

from infra.settings import Settings
from ledger.ports import EventStore
from projections.mga import MgaConfig
from projections.ports import ViewStore
from projections.registry import all_projections
from projections.runner import Projection, ProjectionRunner


def build_views(settings: Settings) -> ViewStore:
    """Open the view store in the events' database (SQLite file or PostgreSQL schema)."""
    if settings.store == "postgres":
        from infra.projection_postgres import PostgresViewStore  # noqa: PLC0415 - optional driver

        return PostgresViewStore(settings.pg_dsn, settings.pg_schema)
    from infra.projection_sqlite import SqliteViewStore  # noqa: PLC0415

    return SqliteViewStore(settings.sqlite_path)


def build_runner(
    settings: Settings, store: EventStore, projections: Sequence[Projection] | None = None
) -> ProjectionRunner:
    """A runner over every projection (or ``projections``) of the configured stores."""
    chosen = all_projections() if projections is None else projections
    return ProjectionRunner(store, build_views(settings), chosen, batch=settings.projection_batch)


def mga_config(settings: Settings) -> MgaConfig:
    """Who files MGA reports and whose players they cover (``LEDGER_MGA_*``)."""
    return MgaConfig(
        operator=settings.mga_operator,
        urls=tuple(u for u in settings.mga_urls.split(",") if u),
        jurisdictions=tuple(settings.mga_jurisdictions.split(",")),
    )
