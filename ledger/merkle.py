"""RFC 9162 §2.1 Merkle hashes, the proof verifiers and the proof wire types.

Leaf ``i`` of the log is the stored record bytes of the event at global position ``i``:
``leaf = SHA-256(0x00 ‖ data)``, ``node = SHA-256(0x01 ‖ left ‖ right)``, and the root of
the empty tree is ``SHA-256("")``. The prover (``MerkleLog``, the tree's storage and
integration) is :mod:`ledger.merkle_log`; this module never imports it, so a proof is
checked by code that did not make it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

import msgspec

from ledger.errors import VerificationError

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 ‖ data)``."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 ‖ left ‖ right)``."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split(n: int) -> int:
    """Return the largest power of two below ``n`` (``n ≥ 2``): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH over ``leaf_hashes``, straight from the RFC 9162 §2.1.1 definition.

    The reference implementation: for tests and small bundles, O(n log n) copying.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = split(n)
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------


class ProofError(VerificationError):
    """An inclusion or consistency proof does not check out (the message says why)."""


def _check_hashes(hashes: Sequence[bytes], what: str) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            msg = f"{what}[{i}] is {len(h)} bytes, expected {HASH_SIZE}"
            raise ProofError(msg, field=what)


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        msg = f"{what} is {len(value)} bytes, expected a {HASH_SIZE}-byte hash"
        raise ProofError(msg, field=what)


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` is leaf ``index`` of the tree of ``size`` leaves whose root is ``root``.

    ``leaf`` is the leaf *hash* (``leaf_hash(data)``), as in RFC 9162 §2.1.3.2, whose
    algorithm this follows step by step.

    Raises:
        ProofError: the index is out of range, the path has the wrong length or the
            recomputed root differs from ``root``.
    """
    _check_hash(leaf, "leaf")
    _check_hash(root, "root")
    _check_hashes(path, "audit_path")
    if index < 0 or index >= size:
        msg = f"leaf index {index} is outside a tree of size {size}"
        raise ProofError(msg, field="leaf_index")
    want = _inclusion_length(index, size)
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            msg = f"audit path too long: leaf {index} of {size} needs {want} nodes, got {len(path)}"
            raise ProofError(msg, field="audit_path")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        msg = f"audit path too short: leaf {index} of {size} needs {want} nodes, got {len(path)}"
        raise ProofError(msg, field="audit_path")
    if r != root:
        msg = f"leaf {index} of {size}: expected root {root.hex()}, the proof gives {r.hex()}"
        raise ProofError(msg, field="root")


def verify_consistency(
    old_size: int, new_size: int, path: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of ``old_size`` leaves is a prefix of the one of ``new_size``.

    Follows RFC 9162 §2.1.4.2. By the RFC's conventions equal sizes need an empty path and
    equal roots, and the empty tree (whose root must be ``EMPTY_ROOT``) is a prefix of every
    tree, with an empty path.

    Raises:
        ProofError: the sizes are out of order, the path has the wrong length, or a
            recomputed root differs from the one given.
    """
    _check_hash(old_root, "old_root")
    _check_hash(new_root, "new_root")
    _check_hashes(path, "consistency_path")
    if old_size < 0 or old_size > new_size:
        msg = f"tree size {old_size} cannot be a prefix of tree size {new_size}"
        raise ProofError(msg, field="first")
    if old_size in {0, new_size}:
        _verify_trivial(old_size, new_size, path, old_root, new_root)
        return
    want = _consistency_length(old_size, new_size)
    if not path:
        msg = f"empty consistency path: sizes {old_size} → {new_size} need {want} nodes"
        raise ProofError(msg, field="consistency_path")
    steps = [old_root, *path] if old_size & (old_size - 1) == 0 else list(path)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = steps[0]
    for c in steps[1:]:
        if sn == 0:
            msg = f"consistency path too long: {old_size} → {new_size} needs {want} nodes, got {len(path)}"
            raise ProofError(msg, field="consistency_path")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        msg = f"consistency path too short: {old_size} → {new_size} needs {want} nodes, got {len(path)}"
        raise ProofError(msg, field="consistency_path")
    _same_root("old_root", old_size, old_root, fr)
    _same_root("new_root", new_size, new_root, sr)


def _verify_trivial(
    old_size: int, new_size: int, path: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    if path:
        msg = f"consistency path for sizes {old_size} → {new_size} must be empty, got {len(path)} nodes"
        raise ProofError(msg, field="consistency_path")
    if old_size == 0:
        _same_root("old_root", 0, old_root, EMPTY_ROOT)
    else:
        _same_root("old_root", old_size, new_root, old_root)


def _same_root(what: str, size: int, expected: bytes, got: bytes) -> None:
    if got != expected:
        msg = f"tree size {size}: expected {what} {expected.hex()}, the proof gives {got.hex()}"
        raise ProofError(msg, field=what)


def _inclusion_length(index: int, size: int) -> int:
    """Return how many nodes PATH(index, D[size]) has: the §2.1.3.2 loop, run without hashing."""
    return _path_steps(index, size - 1)


def _consistency_length(old: int, new: int) -> int:
    """Return how many nodes PROOF(old, D[new]) has (``0 < old < new``): the §2.1.4.2 loop, unhashed."""
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    n = _path_steps(fn, sn)
    # A power-of-two old size starts from its own root, which the path leaves out.
    return n if old & (old - 1) == 0 else n + 1


def _path_steps(fn: int, sn: int) -> int:
    """Count the nodes the RFC 9162 verification loop consumes from ``(fn, sn)`` on."""
    n = 0
    while sn:
        if fn & 1 or fn == sn:
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        fn, sn = fn >> 1, sn >> 1
        n += 1
    return n


# --- wire formats --------------------------------------------------------------------------


def _unhex(values: Sequence[str], what: str) -> list[bytes]:
    try:
        return [bytes.fromhex(v) for v in values]
    except ValueError as e:
        msg = f"{what} holds a value that is not hex: {e}"
        raise ProofError(msg, field=what) from e


class InclusionProof(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 inclusion proof: the audit path of ``leaf_index`` in the tree of ``tree_size``."""

    leaf_index: int
    tree_size: int
    audit_path: list[str]

    @property
    def path(self) -> list[bytes]:
        """The audit path as bytes, bottom-up."""
        return _unhex(self.audit_path, "audit_path")

    def verify(self, leaf: bytes, root: bytes) -> None:
        """Check this proof for the leaf hash ``leaf`` against ``root`` (see ``verify_inclusion``)."""
        verify_inclusion(leaf, self.leaf_index, self.tree_size, self.path, root)


class ConsistencyProof(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 consistency proof between the trees of ``first`` and ``second`` leaves."""

    first: int
    second: int
    consistency_path: list[str]

    @property
    def path(self) -> list[bytes]:
        """The consistency path as bytes."""
        return _unhex(self.consistency_path, "consistency_path")

    def verify(self, old_root: bytes, new_root: bytes) -> None:
        """Check this proof against both roots (see ``verify_consistency``)."""
        verify_consistency(self.first, self.second, self.path, old_root, new_root)
