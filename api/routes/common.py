"""Helpers shared by the controllers: conversions to wire types and proofs for a view's events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar.exceptions import HTTPException

from api.deps import LedgerDeps
from api.schemas import CheckpointOut, InclusionOut, ProofsOut
from ledger.checkpoint import parse_checkpoint
from ledger.errors import NotFoundError
from ledger.merkle import MerkleLog, leaf_hash
from projections.ports import ViewStore

MAX_PROOFS = 1000


def views_of(ld: LedgerDeps) -> ViewStore:
    """The projection views, or a 503 when this deployment runs without them.

    Raises:
        HTTPException: 503 (no views wired).
    """
    if ld.views is None:
        raise HTTPException(status_code=503, detail="projections are not available in this deployment")
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


def inclusion_out(ld: LedgerDeps, position: int, size: int) -> InclusionOut:
    """The inclusion proof of the record at ``position`` in the tree of ``size`` leaves.

    Raises:
        NotFoundError: no record at ``position``, or the tree is shorter than ``size``.
    """
    got = ld.ledger.store.read(position, 1)
    if not got or got[0].position != position:
        msg = f"no event at global position {position}"
        raise NotFoundError(msg, field="position")
    proof = MerkleLog(ld.tree_store).inclusion(position, size)
    return InclusionOut(
        position=position,
        leaf_hash=leaf_hash(got[0].data).hex(),
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        audit_path=proof.audit_path,
    )


def proofs_for(ld: LedgerDeps, positions: Iterable[int]) -> ProofsOut:
    """Inclusion proofs of ``positions`` against the latest checkpoint (later ones listed as unsealed)."""
    wanted = sorted(set(positions))[:MAX_PROOFS]
    latest = ld.tree_store.latest_checkpoint()
    if latest is None:
        return ProofsOut(checkpoint=None, inclusion=[], unsealed=wanted)
    size, note = latest
    return ProofsOut(
        checkpoint=checkpoint_out(note),
        inclusion=[inclusion_out(ld, p, size) for p in wanted if p < size],
        unsealed=[p for p in wanted if p >= size],
    )


def positions_of(docs: Iterable[dict[str, Any]]) -> list[int]:
    """The ``position`` of every document that has one."""
    return [int(d["position"]) for d in docs if isinstance(d.get("position"), int)]
