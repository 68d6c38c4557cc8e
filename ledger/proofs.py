"""Inclusion proofs of recorded events against the Merkle log (RFC 9162 §2.1.3), over the ports.

The API serves these; an exporter or a CLI can ask the same questions without HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

from ledger.catalogue.types import Sha256Hex
from ledger.errors import NotFoundError
from ledger.merkle import leaf_hash
from ledger.merkle_log import MerkleLog, TreeStore
from ledger.ports import EventStore

MAX_PROOFS: Final = 1000


class PositionProof(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 inclusion proof of the record at ``position`` (leaf ``position``) in ``tree_size``."""

    position: int
    leaf_hash: Sha256Hex
    leaf_index: int
    tree_size: int
    audit_path: list[str]


class ProofSet(msgspec.Struct, frozen=True, kw_only=True):
    """Proofs of some positions against the latest signed checkpoint (``note``, absent before the first seal).

    ``unsealed`` lists positions recorded after that checkpoint (proven by the next seal).
    """

    note: bytes | None
    inclusion: list[PositionProof]
    unsealed: list[int]


class Proofs:
    """Prove recorded events: the stored record's leaf hash and its audit path in the tree."""

    def __init__(self, store: EventStore, tree: TreeStore) -> None:
        self._store = store
        self._tree = tree

    def inclusion(self, position: int, size: int) -> PositionProof:
        """The inclusion proof of the record at ``position`` in the tree of ``size`` leaves.

        Raises:
            NotFoundError: no record at ``position``, or the tree is shorter than ``size``.
        """
        got = self._store.read(position, 1)
        if not got or got[0].position != position:
            msg = f"no event at global position {position}"
            raise NotFoundError(msg, field="position")
        proof = MerkleLog(self._tree).inclusion(position, size)
        return PositionProof(
            position=position,
            leaf_hash=leaf_hash(got[0].data).hex(),
            leaf_index=proof.leaf_index,
            tree_size=proof.tree_size,
            audit_path=proof.audit_path,
        )

    def of_positions(self, positions: Iterable[int]) -> ProofSet:
        """Proofs of (at most ``MAX_PROOFS`` of) ``positions`` against the latest checkpoint."""
        wanted = sorted(set(positions))[:MAX_PROOFS]
        latest = self._tree.latest_checkpoint()
        if latest is None:
            return ProofSet(note=None, inclusion=[], unsealed=wanted)
        size, note = latest
        return ProofSet(
            note=note,
            inclusion=[self.inclusion(p, size) for p in wanted if p < size],
            unsealed=[p for p in wanted if p >= size],
        )
