"""The sandbox ledger: synthetic demo data under its own folder, served at ``/sandbox/regulator``."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import msgspec

from infra.demo import chunks, demo_events
from infra.settings import LocalWorm, Settings, SqliteStore
from infra.wiring.bootstrap import build_ledger, build_runner, build_sealer, open_backend

SANDBOX_SEED = 1007
SANDBOX_ORIGIN = "audit-ledger.sandbox/log"


def sandbox_settings(settings: Settings) -> Settings:
    """Return the sandbox ledger's settings: its own SQLite file, keys, signing key and WORM folder."""
    return msgspec.structs.replace(
        settings,
        data_dir=str(Path(settings.sandbox_path).parent),  # keys, KEK, signing key, WORM derive from it
        store=SqliteStore(path=settings.sandbox_path),
        worm=LocalWorm(),
        kek=None,
        kek_path="",
        signing_dir="",
        origin=SANDBOX_ORIGIN,
    )


def prepare_sandbox(settings: Settings) -> int:
    """Load the synthetic demo history into the sandbox ledger (idempotent), fold and seal it.

    Returns the number of events the sandbox holds.
    """
    sb = sandbox_settings(settings)
    Path(sb.sandbox_path).parent.mkdir(parents=True, exist_ok=True)
    backend = open_backend(sb)
    with closing(build_ledger(sb, backend)) as ledger, closing(backend.tree()) as tree_store:
        for _ in ledger.append_all(chunks(demo_events(settings.sandbox_events, seed=SANDBOX_SEED), 1000)):
            pass
        build_sealer(sb, ledger, tree_store).seal()
        size = ledger.store.size()
    catch_up_views(sb)
    return size


def catch_up_views(settings: Settings) -> int:
    """Fold everything recorded into the projections (a no-op when current)."""
    backend = open_backend(settings)
    with closing(backend.events()) as store, closing(backend.views()) as views:
        return build_runner(settings, store, views).catch_up()
