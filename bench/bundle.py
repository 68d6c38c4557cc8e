"""Evidence-bundle rates: export and offline ``verify-bundle``, beside raw SHA-256 of the same bytes.

Run ``python -m bench.bundle`` (``--quick`` for a smaller run). A SQLite ledger gets
``--events`` events on 500 streams, sealed every 1,000 events (signed checkpoints, as the
sealer makes them); a range bundle of the whole log is exported (every stream complete
from genesis) and verified. Raw hashing is one ``hashlib.sha256`` per record over exactly
the record bytes in the bundle, measured in the same run; the report prints the ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import Result, bonus_event, machine, make_events, timed
from infra.cipher import AesGcmFieldCipher
from infra.clock import SystemClock
from infra.demo import chunks
from infra.signing import Ed25519Signer, Ed25519Verifier
from infra.sqlite import SqliteEventStore, SqliteKeyTable, SqliteTreeStore
from ledger.application import Ledger
from ledger.bundle import ExportScope, export_bundle, verify_bundle
from ledger.catalogue.types import Timestamp
from ledger.checkpoint import ZERO_HASH, Checkpoint, manifest_of, note_hash, sign_checkpoint
from ledger.merkle import leaf_hash
from ledger.merkle_log import MerkleLog

ORIGIN = "bench.audit-ledger/log"
SEAL_EVERY = 1000
TARGET_RATIO = 0.3


def _seal(ledger: Ledger, tree_store: SqliteTreeStore, signer: Ed25519Signer) -> None:
    """Extend the tree and sign one checkpoint per ``SEAL_EVERY`` events (the sealer's shape)."""
    tree = MerkleLog(tree_store)
    size, previous, now = ledger.store.size(), ZERO_HASH, SystemClock().now_ms()
    for first in range(0, size, SEAL_EVERY):
        end = min(first + SEAL_EVERY, size)
        leaves = [leaf_hash(r.data) for r in ledger.store.read(first, end - first)]
        tree.append_leaves(leaves)
        cp = Checkpoint(
            origin=ORIGIN,
            size=end,
            root=tree.root(end),
            timestamp=Timestamp.from_epoch_ms(now).canonical(),
            first=first,
            manifest=manifest_of(leaves),
            previous=previous,
        )
        note = sign_checkpoint(cp, [signer])
        tree_store.add_checkpoint(end, note)
        previous = note_hash(note)


def run(events: int, repeat: int) -> list[Result]:
    """Build, seal, export and verify; return the measured rows."""
    key = Ed25519PrivateKey.generate()
    signer = Ed25519Signer(ORIGIN, key)
    verifier = Ed25519Verifier(ORIGIN, signer.public_key, "2000-01-01T00:00:00.000Z", None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite3"
        cipher = AesGcmFieldCipher(SqliteKeyTable(Path(tmp) / "keys.sqlite3"), bytes(range(32)))
        ledger = Ledger(SqliteEventStore(path), cipher, SystemClock())
        tree_store = SqliteTreeStore(path)
        try:
            for batch in chunks(make_events(events, seed=11, factory=bonus_event), 1000):
                ledger.append(batch)
            _seal(ledger, tree_store, signer)
            records = [r.data for r in ledger.store.read(0, events)]
            box: dict[str, bytes] = {}

            def export() -> None:
                box["data"], _ = export_bundle(
                    ledger.store,
                    MerkleLog(tree_store),
                    tree_store,
                    verifier.trusted_line() + "\n",
                    ExportScope.range(0, events),
                    origin=ORIGIN,
                    created_at=Timestamp.from_epoch_ms(SystemClock().now_ms()).canonical(),
                )

            exported = timed("bundle", "export (SQLite, range of the whole log)", events, export)
        finally:
            tree_store.close()
            ledger.close()
    data = box["data"]
    verify_bundle(data, [verifier])  # warm-up, and proof that the bundle is clean
    verified = _best(repeat, "verify-bundle (offline)", events, lambda: verify_bundle(data, [verifier]))
    raw = _best(repeat, "raw hashlib.sha256 per record", events, lambda: [hashlib.sha256(r) for r in records])
    size = sum(map(len, records))
    note = f"{len(data):,} bytes zip, {size / events:.0f} bytes/record"
    return [exported, verified, raw, Result("bundle", "bundle", events, 0.0, note)]


def _best(repeat: int, name: str, events: int, fn: Callable[[], object]) -> Result:
    """The fastest of ``repeat`` timed runs."""
    return min((timed("bundle", name, events, fn) for _ in range(repeat)), key=lambda r: r.seconds)


def report(rows: list[Result]) -> None:
    """Print the table and the ratio to raw hashing."""
    exported, verified, raw, info = rows
    print(f"# verify-bundle benchmark: {info.events:,} events ({info.note})")
    print(f"# {machine(None, uses_pg=False)}")
    print(f"{'measurement':<44} {'events/s':>12} {'seconds':>9}")
    for r in (exported, verified, raw):
        print(f"{r.name:<44} {r.rate:>12,.0f} {r.seconds:>9.3f}")
    ratio = verified.rate / raw.rate if raw.rate else 0.0
    met = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"verify-bundle / raw sha256 = {ratio:.3f} (target >= {TARGET_RATIO}: {met})")


def main() -> None:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="5,000 events, one repetition")
    args = p.parse_args()
    events, repeat = (5000, 1) if args.quick else (args.events, args.repeat)
    report(run(events, repeat))


if __name__ == "__main__":
    main()
