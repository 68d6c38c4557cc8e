"""Collect an evidence bundle (docs/bundle-format.md) from the event store and the Merkle log.

An application service over the ports only (``EventStore``, ``TreeStore``, ``MerkleLog``):
the CLI and the API hand it their adapters.

Only events sealed by the latest checkpoint are exported: a bundle proves every event it
holds, and an event beyond the latest checkpoint has nothing to be proven against yet.
The summary says how many were left out and why.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ledger.bundle.build import Anchor, build_bundle
from ledger.bundle.format import Scope
from ledger.catalogue.anchoring import ANCHOR_STREAMS
from ledger.chain import StoredRecord
from ledger.checkpoint import parse_checkpoint
from ledger.encoding import decode_content, decode_content_stream, decode_record
from ledger.errors import NotFoundError, ValidationError
from ledger.merkle_log import MerkleLog, TreeStore
from ledger.ports import EventStore

_READ_CHUNK = 5000


@dataclass(frozen=True)
class ExportScope:
    """What to export: a stream, a round (plus extra positions) or a position range ``[start, end)``."""

    kind: Literal["stream", "round", "range"]
    value: str
    start: int = 0
    end: int = 0
    extra: tuple[int, ...] = ()

    @classmethod
    def stream(cls, name: str) -> ExportScope:
        """Every event of one stream, e.g. ``BonusRule:br-welcome``."""
        return cls("stream", name)

    @classmethod
    def round(cls, round_id: str, extra: Iterable[int] = ()) -> ExportScope:
        """The events of stream ``Round:<round_id>``, plus other events given by global position."""
        return cls("round", round_id, extra=tuple(sorted(set(extra))))

    @classmethod
    def range(cls, start: int, end: int) -> ExportScope:
        """The events at global positions ``[start, end)``.

        Raises:
            ValidationError: the range is empty or negative.
        """
        if not 0 <= start < end:
            msg = f"need 0 <= start < end, got {start}:{end}"
            raise ValidationError(msg, field="range")
        return cls("range", f"{start}:{end}", start, end)

    @property
    def label(self) -> str:
        """A file-name-safe label, e.g. ``round-r-42`` or ``range-0-100``."""
        text = f"{self.kind}-{self.value}".replace(":", "-").replace("/", "-")
        return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in text)


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote, and what it left out."""

    scope: str
    checkpoint_size: int
    scope_events: int
    events: int
    streams: int
    checkpoints: int
    receipts: int
    left_out: int
    receipts_pending: int
    reason: str | None


def _stream_of(r: StoredRecord) -> str:
    return decode_content_stream(decode_record(r.data).event).stream


def export_bundle(
    store: EventStore,
    tree: MerkleLog,
    tree_store: TreeStore,
    keyring_public: str,
    scope: ExportScope,
    *,
    origin: str,
    created_at: str,
) -> tuple[bytes, ExportSummary]:
    """Collect and build the bundle of ``scope``; return its bytes and a summary.

    Raises:
        NotFoundError: no checkpoint yet, or the scope holds no (sealed) event.
        ValidationError: ``origin`` differs from the origin of the latest checkpoint.
    """
    latest = tree_store.latest_checkpoint()
    if latest is None:
        raise NotFoundError("no signed checkpoint yet: run `ledger seal` first", field="checkpoint")
    size, latest_note = latest
    cp_origin = parse_checkpoint(latest_note)[0].origin
    if cp_origin != origin:
        msg = f"the latest checkpoint is for origin {cp_origin!r}, not {origin!r}"
        raise ValidationError(msg, field="origin")
    selected = _select(store, scope)
    sealed = [r for r in selected if r.position < size]
    left_out = len(selected) - len(sealed)
    if not sealed:
        what = "has no events" if not selected else f"has {left_out} events, none sealed yet"
        msg = f"{scope.kind} {scope.value} {what}" + ("; run `ledger seal` first" if selected else "")
        raise NotFoundError(msg, field=scope.kind)
    records = _chains(store, {_stream_of(r) for r in sealed}, size)
    notes = dict(tree_store.checkpoints())
    sizes = sorted(notes)
    cover = {p: sizes[bisect.bisect_right(sizes, p)] for p in records}
    used = sorted({*cover.values(), size})
    receipts, pending = _receipts(store, tree, used, size)
    data = build_bundle(
        origin=origin,
        created_at=created_at,
        scope=Scope(kind=scope.kind, value=scope.value, positions=[r.position for r in sealed]),
        records=records,
        notes={s: notes[s] for s in used},
        inclusion={p: tree.inclusion(p, s) for p, s in cover.items()},
        consistency=[tree.consistency(s, size) for s in used if s != size],
        receipts=receipts,
        keyring=keyring_public,
    )
    reasons = []
    if left_out:
        reasons.append(f"{left_out} events of the scope are not sealed yet: run `ledger seal` first")
    if pending:
        reasons.append(
            f"{pending} WORM receipts are not sealed yet (an anchor is proven by the next checkpoint: "
            f"run `ledger seal` again to include it)"
        )
    summary = ExportSummary(
        scope=f"{scope.kind} {scope.value}",
        checkpoint_size=size,
        scope_events=len(sealed),
        events=len(records),
        streams=_count_streams(records),
        checkpoints=len(used),
        receipts=sum(len(v) for v in receipts.values()),
        left_out=left_out,
        receipts_pending=pending,
        reason="; ".join(reasons) or None,
    )
    return data, summary


def _count_streams(records: dict[int, bytes]) -> int:
    return len({decode_content_stream(decode_record(d).event).stream for d in records.values()})


def _select(store: EventStore, scope: ExportScope) -> list[StoredRecord]:
    """Every record the scope names (sealed or not), in position order."""
    if scope.kind == "stream":
        return store.read_stream(scope.value)
    if scope.kind == "round":
        found = {r.position: r for r in store.read_stream(f"Round:{scope.value}")}
        for p in scope.extra:
            got = store.read(p, 1)
            if not got or got[0].position != p:
                msg = f"no event at global position {p} (extra event of round {scope.value})"
                raise NotFoundError(msg, field="positions")
            found[p] = got[0]
        return [found[p] for p in sorted(found)]
    out: list[StoredRecord] = []
    start = scope.start
    while start < scope.end and (batch := store.read(start, min(_READ_CHUNK, scope.end - start))):
        out.extend(batch)
        start = batch[-1].position + 1
    return out


def _chains(store: EventStore, streams: Iterable[str], size: int) -> dict[int, bytes]:
    """Every record of ``streams`` from genesis up to the latest checkpoint (per-entity completeness)."""
    records: dict[int, bytes] = {}
    for stream in sorted(streams):
        records |= {r.position: r.data for r in store.read_stream(stream) if r.position < size}
    return dict(sorted(records.items()))


def _receipts(
    store: EventStore, tree: MerkleLog, used: Iterable[int], size: int
) -> tuple[dict[int, list[Anchor]], int]:
    """The proven WORM receipts of the ``used`` checkpoints, and how many are not proven yet.

    A receipt is the ``anchor.written`` event itself, proven under the latest checkpoint;
    an anchor appended after it (always the latest checkpoint's own) waits for the next
    seal. Every anchor of those sizes is taken as recorded, even one that does not match
    its note: the verifier must see it, not the exporter hide it.
    """
    wanted = set(used)
    out: dict[int, list[Anchor]] = {}
    pending = 0
    for stream in ANCHOR_STREAMS:
        for r in store.read_stream(stream):
            cp_size = int(decode_content(decode_record(r.data).event).payload["checkpoint_size"])
            if cp_size not in wanted:
                continue
            if r.position >= size:
                pending += 1
                continue
            out.setdefault(cp_size, []).append(Anchor(r.data, tree.inclusion(r.position, size)))
    return out, pending
