"""Sealing: extend the Merkle log, sign a checkpoint, anchor it in WORM storage, record the receipt.

One ``seal()`` is crash-safe at every step, because every step is idempotent and the state
it resumes from is durable:

1. the tree is extended to the ledger's current size (the tree size is the sealer's
   tracked position; nodes and size commit in one transaction);
2. a checkpoint for that size is signed and stored beside the tree (same bytes again are a
   no-op);
3. every stored checkpoint without an ``anchor.written`` event is written create-only to
   WORM storage (identical bytes already there are success) and its receipt is appended to
   the ledger under a deterministic event id, so a repeat is an idempotent duplicate.

The ``anchor.written`` events are themselves sealed by the next checkpoint. A follower
seals when ``every`` events are waiting or ``interval`` has passed with at least one
producer event waiting, so anchors alone never keep the sealer busy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec

from ledger.application import Ledger
from ledger.catalogue.anchoring import ANCHOR_TYPE, AnchorWritten, anchor_stream
from ledger.catalogue.types import Timestamp, enc_hook
from ledger.checkpoint import (
    ZERO_HASH,
    Checkpoint,
    Signer,
    manifest_of,
    note_hash,
    parse_checkpoint,
    sign_checkpoint,
)
from ledger.encoding import decode_content_type, decode_record
from ledger.merkle import leaf_hash
from ledger.merkle_log import MerkleLog, TreeStore
from ledger.ports import Clock, EventStore
from ledger.worm import WormReceipt, WormStore, checkpoint_key

READ_CHUNK = 10_000

# retention(types in the batch, sealed_at) -> (retain-until, winning category, policy version)
Retention = Callable[[Iterable[str], str], tuple[str, str, str]]


@dataclass(frozen=True, slots=True)
class SealResult:
    """What one ``seal()`` did."""

    tree_size: int
    leaves_added: int
    checkpoint: Checkpoint | None
    anchored: list[WormReceipt]


class Sealer:
    """Seals the ledger into signed, WORM-anchored checkpoints (see module docstring)."""

    def __init__(
        self,
        ledger: Ledger,
        store: EventStore,
        tree_store: TreeStore,
        signer: Callable[[], Signer],
        worm: WormStore,
        clock: Clock,
        retention: Retention,
        *,
        origin: str,
        jurisdiction: str,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.tree_store = tree_store
        self.tree = MerkleLog(tree_store)
        self._signer = signer
        self._worm = worm
        self._clock = clock
        self._retention = retention
        self.origin = origin
        self._jurisdiction = jurisdiction
        self._lock = threading.Lock()
        self._types: dict[int, set[str]] = {}  # event types per checkpoint sealed by this process

    def seal(self, up_to: int | None = None) -> SealResult:
        """Seal everything appended so far, or up to position ``up_to`` (exclusive).

        No checkpoint is made when nothing new was appended.
        """
        with self._lock:
            size = self.store.size()
            target = size if up_to is None else min(size, up_to)
            latest = self.tree_store.latest_checkpoint()
            first = latest[0] if latest is not None else 0
            added = 0
            checkpoint: Checkpoint | None = None
            if target > first:
                leaves, types = self._leaves(first, target)
                added = self._extend(first, leaves)
                previous = note_hash(latest[1]) if latest is not None else ZERO_HASH
                checkpoint = Checkpoint(
                    origin=self.origin,
                    size=target,
                    root=self.tree.root(target),
                    timestamp=Timestamp.from_epoch_ms(self._clock.now_ms()).canonical(),
                    first=first,
                    manifest=manifest_of(leaves),
                    previous=previous,
                )
                # The signer is asked for on every seal, so a key rotation takes effect at once.
                self.tree_store.add_checkpoint(target, sign_checkpoint(checkpoint, [self._signer()]))
                self._types[target] = types
            anchored = self._anchor_pending()
            return SealResult(self.tree.size(), added, checkpoint, anchored)

    def unsealed_counts(self, limit: int) -> tuple[int, int]:
        """Return (events waiting, producer events among them) beyond the latest checkpoint.

        Producer events are only counted when fewer than ``limit`` events wait (the follower
        seals anyway at ``limit``), so a poll reads at most ``limit`` records.
        """
        latest = self.tree_store.latest_checkpoint()
        start = latest[0] if latest is not None else 0
        waiting = self.store.size() - start
        if waiting <= 0 or waiting >= limit:
            return max(waiting, 0), 0
        records = self.store.read(start, waiting)
        producer = sum(decode_content_type(decode_record(r.data).event).type != ANCHOR_TYPE for r in records)
        return waiting, producer

    # -- steps ---------------------------------------------------------------------------------

    def _leaves(self, start: int, end: int) -> tuple[list[bytes], set[str]]:
        leaves: list[bytes] = []
        types: set[str] = set()
        position = start
        while position < end:
            records = self.store.read(position, min(READ_CHUNK, end - position))
            for r in records:
                leaves.append(leaf_hash(r.data))
                types.add(decode_content_type(decode_record(r.data).event).type)
            position += len(records)
            if not records:
                break
        return leaves, types

    def _extend(self, first: int, leaves: Sequence[bytes]) -> int:
        size = self.tree.size()
        new = leaves[size - first :]
        if new:
            self.tree.append_leaves(new)
        return len(new)

    def _anchor_pending(self) -> list[WormReceipt]:
        anchored = self.anchored_sizes()
        receipts = []
        for size, note in self.tree_store.checkpoints():
            if size in anchored:
                continue
            receipts.append(self._anchor(size, note))
        return receipts

    def anchored_sizes(self) -> set[int]:
        """Checkpoint sizes with an ``anchor.written`` event in the ledger."""
        stream = anchor_stream(self._worm.kind)
        return {int(e.payload["checkpoint_size"]) for e in self.ledger.history(stream)}

    def _anchor(self, size: int, note: bytes) -> WormReceipt:
        cp, _ = parse_checkpoint(note)
        types = self._types.pop(size, None)
        if types is None:
            types = self._leaves(cp.first, cp.size)[1]
        retain_until, category, policy = self._retention(types, cp.timestamp)
        receipt = self._worm.put(checkpoint_key(self.origin, size), note, retain_until)
        self.ledger.append([self._anchor_event(cp, note, receipt, category, policy)])
        return receipt

    def _anchor_event(
        self, cp: Checkpoint, note: bytes, receipt: WormReceipt, category: str, policy: str
    ) -> dict[str, Any]:
        digest = note_hash(note).hex()
        payload = AnchorWritten(
            checkpoint_size=cp.size,
            checkpoint_hash=digest,
            batch_first=cp.first,
            store=receipt.store,
            key=receipt.key,
            version_id=receipt.version_id,
            etag=receipt.etag,
            object_sha256=receipt.sha256,
            mode=receipt.mode,
            retain_until=Timestamp.parse(receipt.retain_until),
            retention_category=category,
            retention_policy=policy,
        )
        # A mapping, not an EventIn: the append path validates the envelope as for any producer.
        return {
            "event_id": str(anchor_event_id(self.origin, receipt.store, cp.size, digest)),
            "type": ANCHOR_TYPE,
            "schema_version": 1,
            "stream": anchor_stream(receipt.store),
            "occurred_at": Timestamp.from_epoch_ms(self._clock.now_ms()).canonical(),
            "actor": {"kind": "system", "id": "sealer"},
            "trace_id": digest[:32],
            "jurisdiction": self._jurisdiction,
            "payload": msgspec.to_builtins(payload, enc_hook=enc_hook),
        }


def anchor_event_id(origin: str, store: str, size: int, note_digest: str) -> UUID:
    """The deterministic id of the anchor event, so re-anchoring after a crash is a duplicate."""
    return uuid5(NAMESPACE_URL, f"audit-ledger:{origin}:anchor:{store}:{size}:{note_digest}")


def follow(
    sealer: Sealer,
    *,
    every: int,
    interval: float,
    report: Callable[[SealResult], object] | None = None,
    stop: threading.Event | None = None,
    poll: float = 0.2,
) -> None:
    """Seal whenever ``every`` events wait, or ``interval`` seconds passed with producer events waiting.

    Runs until ``stop`` is set (or the process is interrupted). Anchor events alone never
    trigger a seal on time, so an idle ledger stays idle.
    """
    stop = stop or threading.Event()
    waited = 0.0
    while not stop.is_set():
        waiting, producer = sealer.unsealed_counts(every)
        if waiting >= every or (producer and waited >= interval):
            result = sealer.seal()
            waited = 0.0
            if report is not None:
                report(result)
            continue
        stop.wait(poll)
        waited += poll
