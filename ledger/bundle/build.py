"""Build an evidence bundle (format v1, ``ledger.bundle.format``) from already-collected inputs.

The zip is deterministic: the same inputs give byte-identical bundles.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from ledger.bundle.format import (
    CHAINS,
    EVENTS,
    FORMAT,
    KEYRING,
    MANIFEST,
    AnchorProof,
    Chain,
    ConsistencyFile,
    Counts,
    InclusionFile,
    ReceiptsFile,
    Scope,
    consistency_path,
    event_line,
    inclusion_path,
    note_path,
    receipts_path,
    record_path,
)
from ledger.chain import GENESIS, event_hash
from ledger.encoding import canonical, decode_content_stream, decode_record
from ledger.errors import ValidationError
from ledger.merkle import ConsistencyProof, InclusionProof

# Fixed member timestamp: the same inputs give byte-identical zips.
_EPOCH: Final = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Anchor:
    """Input to ``build_bundle``: an ``anchor.written`` record and its inclusion proof."""

    record: bytes
    proof: InclusionProof


def build_bundle(
    *,
    origin: str,
    created_at: str,
    scope: Scope,
    records: Mapping[int, bytes],
    notes: Mapping[int, bytes],
    inclusion: Mapping[int, InclusionProof],
    consistency: Sequence[ConsistencyProof],
    receipts: Mapping[int, Sequence[Anchor]],
    keyring: str,
) -> bytes:
    """Assemble a v1 bundle from already-collected inputs; return the zip bytes.

    ``records`` maps global position to stored record bytes and must hold every stream it
    touches from stream position 0 on; ``chains.json`` and ``events.ndjson`` are derived
    from them. The zip is deterministic: the same inputs give the same bytes.

    Raises:
        ValidationError: the inputs cannot form a valid bundle (an exporter bug).
    """
    chains, lines = _derive(records)
    files: dict[str, bytes] = {record_path(p): records[p] for p in sorted(records)}
    files |= {note_path(s): n for s, n in notes.items()}
    files |= {inclusion_path(p): canonical(_inclusion_file(proof)) for p, proof in inclusion.items()}
    for c in consistency:
        body = ConsistencyFile(consistency_path=list(c.consistency_path), first=c.first, second=c.second)
        files[consistency_path(c.first, c.second)] = canonical(body)
    for size, rs in receipts.items():
        if rs:
            proven = [
                AnchorProof(anchor=msgspec.Raw(a.record), inclusion=_inclusion_file(a.proof)) for a in rs
            ]
            files[receipts_path(size)] = canonical(ReceiptsFile(checkpoint_size=size, receipts=proven))
    files |= {CHAINS: canonical(chains), EVENTS: b"".join(lines), KEYRING: keyring.encode()}
    if not notes:
        raise ValidationError("a bundle needs at least one checkpoint", field="notes")
    counts = Counts(
        checkpoints=len(notes),
        events=len(records),
        receipts=sum(len(rs) for rs in receipts.values()),
        streams=len(chains),
    )
    manifest: dict[str, Any] = msgspec.to_builtins(
        {
            "checkpoint_size": max(notes),
            "counts": counts,
            "created_at": created_at,
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
            "format": FORMAT,
            "origin": origin,
            "scope": scope,
        }
    )
    manifest["digest"] = hashlib.sha256(canonical(manifest)).hexdigest()
    return _zip({MANIFEST: canonical(manifest)} | dict(sorted(files.items())))


def _anchor_proof(anchor: Anchor) -> AnchorProof:
    return AnchorProof(anchor=msgspec.Raw(anchor.record), inclusion=_inclusion_file(anchor.proof))


def _inclusion_file(proof: InclusionProof) -> InclusionFile:
    return InclusionFile(
        audit_path=list(proof.audit_path), leaf_index=proof.leaf_index, tree_size=proof.tree_size
    )


def _derive(records: Mapping[int, bytes]) -> tuple[list[Chain], list[bytes]]:
    """Return the chains and the ``events.ndjson`` lines of ``records``."""
    walked: dict[str, tuple[list[int], bytes]] = {}
    lines: list[bytes] = []
    for p in sorted(records):
        data = records[p]
        record = decode_record(data)
        stream = decode_content_stream(record.event).stream
        positions, prev = walked.get(stream, ([], GENESIS))
        if record.ledger.stream_position != len(positions) or record.ledger.prev_hash != prev.hex():
            msg = (
                f"stream {stream}: the record at global position {p} is stream position "
                f"{record.ledger.stream_position}, expected {len(positions)} linked to {prev.hex()}; "
                f"a bundle holds every stream from genesis"
            )
            raise ValidationError(msg, field="records")
        h = event_hash(prev, data)
        positions.append(p)
        walked[stream] = (positions, h)
        lines.append(event_line(p, stream, record.ledger.stream_position, h, data))
    chains = [Chain(head_hash=h.hex(), positions=ps, stream=s) for s, (ps, h) in sorted(walked.items())]
    return chains, lines


def _zip(files: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()
