"""Helpers shared by the controllers: wire forms of checkpoints and of a view's proofs, the views."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from api.deps import LedgerDeps
from api.errors import NotConfiguredError
from api.schemas import CheckpointOut, ProofsOut
from ledger.checkpoint import parse_checkpoint
from projections.ports import ViewStore


def views_of(ld: LedgerDeps) -> ViewStore:
    """The projection views, or a 503 when this deployment runs without them.

    Raises:
        NotConfiguredError: no views wired.
    """
    if ld.views is None:
        raise NotConfiguredError("projections")
    return ld.views


def checkpoint_out(note: bytes) -> CheckpointOut:
    """A signed note as wire data (the note text is what a verifier checks)."""
    cp, _ = parse_checkpoint(note)
    return CheckpointOut(
        origin=cp.origin,
        size=cp.size,
        root=cp.root.hex(),
        timestamp=cp.timestamp,
        first=cp.first,
        manifest=cp.manifest.hex(),
        previous=cp.previous.hex(),
        note=note.decode(),
    )


def proofs_for(ld: LedgerDeps, positions: Iterable[int]) -> ProofsOut:
    """Inclusion proofs of ``positions`` against the latest checkpoint (later ones listed as unsealed)."""
    found = ld.proofs.of_positions(positions)
    checkpoint = checkpoint_out(found.note) if found.note is not None else None
    return ProofsOut(checkpoint=checkpoint, inclusion=found.inclusion, unsealed=found.unsealed)


def positions_of(docs: Iterable[dict[str, Any]]) -> list[int]:
    """The ``position`` of every document that has one."""
    return [int(d["position"]) for d in docs if isinstance(d.get("position"), int)]
