"""Verify an evidence bundle (format v1) offline and name the first fault.

Verification needs no network and no database: everything is recomputed from the bytes in
the zip, and trust comes only from the ``Verifier`` objects passed in (the
``--trusted-key`` file), never from the keyring inside the bundle. The first fault is
raised as a ``BundleError`` that names the file, event position, stream and checkpoint
size, with what was expected and what was found.

This checker is deliberately independent of ``ledger.verify``, as tessera's ``fsck`` is of
its log: it is what an auditor runs on bytes they were handed, so it shares only the
primitives (record decoding, chain and Merkle hashes, the RFC 9162 verifiers, checkpoint
signatures) and restates its own rules, with faults located by bundle member. The
checkpoint-link rule differs anyway: a bundle holds a subset of the checkpoints, so a link
is checked only where two consecutive checkpoints are both present, while
``ledger.verify.ledger.open_all`` sees every checkpoint and requires every link.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any, TypeVar

import msgspec

from ledger.bundle.format import (
    CHAINS,
    EVENTS,
    FORMAT,
    KEYRING,
    MANIFEST,
    MEMBER_NAME,
    AnchorProof,
    BundleError,
    Chain,
    ConsistencyFile,
    Counts,
    InclusionFile,
    Manifest,
    ReceiptsFile,
    Scope,
    consistency_path,
    event_line,
    inclusion_path,
    locate,
    note_path,
    receipts_path,
    record_path,
)
from ledger.bundle.zipread import read_zip
from ledger.catalogue.anchoring import ANCHOR_TYPE, anchor_stream
from ledger.chain import GENESIS, event_hash
from ledger.checkpoint import ZERO_HASH, Checkpoint, Verifier, note_hash, open_checkpoint
from ledger.encoding import canonical, decode_anchor_content, decode_content_stream, decode_record
from ledger.errors import VerificationError, Where
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion

_RANGE = re.compile(r"(0|[1-9][0-9]*):(0|[1-9][0-9]*)")
T = TypeVar("T")


@dataclass(frozen=True)
class BundleReport:
    """What a clean bundle verification covered."""

    origin: str
    created_at: str
    scope: str
    scope_events: int
    events: int
    streams: int
    checkpoints: int
    latest_checkpoint: int
    receipts: int
    seconds: float


@dataclass(slots=True)
class _Rec:
    position: int
    data: bytes
    stream: str
    stream_position: int
    prev_hash: str
    hash: bytes = b""


def verify_bundle(data: bytes, verifiers: Sequence[Verifier]) -> BundleReport:
    """Verify a bundle offline against the trusted ``verifiers``; raise at the first fault.

    Checks, in this order (docs/bundle-format.md §4): the zip; ``bundle.json`` (canonical,
    its own digest); the file list and every file digest; every record; every checkpoint
    signature and link; every inclusion proof (so an altered record is named itself);
    every chain from genesis (completeness); every consistency proof; the receipts; the
    batch manifests the bundle can recompute; ``events.ndjson``; the scope; the counts.

    Raises:
        BundleError: the first fault, located.
    """
    started = time.perf_counter()
    members = read_zip(data)
    manifest = _read_manifest(members)
    _check_files(manifest, members)
    recs = _records(members, manifest.checkpoint_size)
    notes = _members(members, "cs")
    opened = _check_checkpoints(manifest, notes, verifiers)
    _check_inclusion(members, recs, opened)
    chains = _check_chains(members, recs)
    _check_consistency(members, opened, manifest.checkpoint_size)
    receipts = _check_receipts(members, notes, opened)
    _check_manifests(recs, opened)
    _check_events(members[EVENTS], recs)
    _check_scope(manifest.scope, chains, recs, manifest.checkpoint_size)
    _check_counts(manifest.counts, Counts(len(opened), len(recs), receipts, len(chains)))
    return BundleReport(
        origin=manifest.origin,
        created_at=manifest.created_at,
        scope=f"{manifest.scope.kind} {manifest.scope.value}",
        scope_events=len(manifest.scope.positions),
        events=len(recs),
        streams=len(chains),
        checkpoints=len(opened),
        latest_checkpoint=manifest.checkpoint_size,
        receipts=receipts,
        seconds=time.perf_counter() - started,
    )


def _decode(name: str, raw: bytes, type_: type[T], at: Where) -> T:
    """Decode a JSON member strictly: its schema, and its bytes in canonical form."""
    try:
        value = msgspec.json.decode(raw, type=type_)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as e:
        raise BundleError(f"{name}: not a valid {_kind(type_)}: {e}", at) from None
    if canonical(value) != raw:
        msg = f"{name}: not in canonical form (sorted keys, no whitespace, lower-case hex)"
        raise BundleError(msg, at, expected=canonical(value).decode(errors="replace")[:120])
    return value


def _kind(type_: Any) -> str:
    return getattr(type_, "__name__", "list of Chain")


def _read_manifest(members: Mapping[str, bytes]) -> Manifest:
    raw = members.get(MANIFEST)
    if raw is None:
        raise BundleError(f"{MANIFEST} is missing", Where(MANIFEST))
    try:
        obj = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{MANIFEST}: not JSON: {e}", Where(MANIFEST)) from None
    if not isinstance(obj, dict) or canonical(obj) != raw:
        msg = f"{MANIFEST}: not a JSON object in canonical form (sorted keys, no whitespace)"
        raise BundleError(msg, Where(MANIFEST))
    found = obj.pop("digest", None)
    want = hashlib.sha256(canonical(obj)).hexdigest()
    if found != want:
        msg = f"{MANIFEST}: digest expected {want}, found {found}: the file was altered"
        raise BundleError(msg, Where(MANIFEST), expected=want, found=found)
    manifest = _decode(MANIFEST, raw, Manifest, Where(MANIFEST))
    if manifest.format != FORMAT:
        msg = f"{MANIFEST}: format expected {FORMAT}, found {manifest.format}"
        raise BundleError(msg, Where(MANIFEST), expected=FORMAT, found=manifest.format)
    return manifest


def _check_files(manifest: Manifest, members: Mapping[str, bytes]) -> None:
    listed = manifest.files
    for name in sorted(set(members) - {MANIFEST}):
        if name not in listed:
            raise BundleError(f"{name} is in the zip but not listed in {MANIFEST}", locate(name))
    for name in sorted(listed):
        if MEMBER_NAME.fullmatch(name) is None:
            raise BundleError(f"{MANIFEST} lists {name}, which is no file of format v1", Where(MANIFEST))
        if name not in members:
            raise BundleError(f"{name} is listed in {MANIFEST} but missing from the zip", locate(name))
        got = hashlib.sha256(members[name]).hexdigest()
        if got != listed[name]:
            msg = f"{name}: sha256 expected {listed[name]} (from {MANIFEST}), found {got}"
            at = replace(
                locate(name), stream=_stream_hint(members[name]) if name.startswith("records/") else None
            )
            raise BundleError(msg, at, expected=listed[name], found=got)
    for name in (CHAINS, EVENTS, KEYRING):
        if name not in members:
            raise BundleError(f"{name} is missing", Where(name))


def _stream_hint(data: bytes) -> str | None:
    """The stream a (possibly damaged) record names, to locate a fault better; None if unreadable."""
    try:
        return decode_content_stream(decode_record(data).event).stream
    except (msgspec.MsgspecError, UnicodeDecodeError):
        return None


def _members(members: Mapping[str, bytes], group: str) -> dict[int, bytes]:
    """Members of one kind keyed by the number in their name, ascending."""
    out: dict[int, bytes] = {}
    for name in sorted(members):
        m = MEMBER_NAME.fullmatch(name)
        if m is not None and m[group] is not None:
            out[int(m[group])] = members[name]
    return out


def _records(members: Mapping[str, bytes], latest: int) -> dict[int, _Rec]:
    recs: dict[int, _Rec] = {}
    for p, data in _members(members, "rp").items():
        name = record_path(p)
        try:
            record = decode_record(data)
            stream = decode_content_stream(record.event).stream
        except (msgspec.MsgspecError, UnicodeDecodeError) as e:
            raise BundleError(f"{name}: not a valid v1 record: {e}", Where(name, p)) from None
        at = Where(name, p, stream)
        if record.v != 1:
            raise BundleError(f"{name}: record version expected 1, found {record.v}", at, found=record.v)
        if record.ledger.position != p:
            msg = f"{name}: the record inside holds global position {record.ledger.position}"
            raise BundleError(msg, at, expected=p, found=record.ledger.position)
        if p >= latest:
            msg = f"event {p} (stream {stream}) is not sealed by the latest checkpoint, size {latest}"
            raise BundleError(msg, at, expected=f"< {latest}", found=p)
        recs[p] = _Rec(p, data, stream, record.ledger.stream_position, record.ledger.prev_hash)
    return recs


def _check_chains(members: Mapping[str, bytes], recs: Mapping[int, _Rec]) -> list[Chain]:
    chains = _decode(CHAINS, members[CHAINS], list[Chain], Where(CHAINS))
    for a, b in pairwise(chains):
        if a.stream >= b.stream:
            msg = f"{CHAINS}: streams must be unique and sorted; {b.stream} follows {a.stream}"
            raise BundleError(msg, Where(CHAINS, stream=b.stream))
    covered: set[int] = set()
    for chain in chains:
        _walk(chain, recs)
        covered.update(chain.positions)
    loose = sorted(set(recs) - covered)
    if loose:
        p = loose[0]
        msg = f"event {p} (stream {recs[p].stream}) is in the bundle but in no chain of {CHAINS}"
        raise BundleError(msg, Where(CHAINS, p, recs[p].stream))
    return chains


def _walk(chain: Chain, recs: Mapping[int, _Rec]) -> None:
    """Recompute one stream's chain from genesis; any gap is a completeness failure."""
    s, prev, last = chain.stream, GENESIS, -1
    if not chain.positions:
        raise BundleError(f"{CHAINS}: stream {s} lists no event", Where(CHAINS, stream=s))
    for sp, p in enumerate(chain.positions):
        at = Where(record_path(p), p, s)
        rec = recs.get(p)
        if rec is None:
            msg = (
                f"stream {s}: stream position {sp} (global {p}) is missing from the bundle: incomplete chain"
            )
            raise BundleError(msg, at, expected=record_path(p), found="no such file")
        if p <= last or rec.stream != s:
            msg = f"stream {s}: {CHAINS} lists global {p} at stream position {sp}, a record of {rec.stream}"
            raise BundleError(msg, at, expected=s, found=rec.stream)
        if rec.stream_position != sp:
            what = "missing from the bundle" if rec.stream_position > sp else "out of order"
            msg = (
                f"stream {s}: expected stream position {sp} at global {p}, found {rec.stream_position}: "
                f"revision(s) {what}: incomplete chain"
            )
            raise BundleError(msg, at, expected=sp, found=rec.stream_position)
        if rec.prev_hash != prev.hex():
            before = "genesis" if sp == 0 else f"stream position {sp - 1} (global {last})"
            msg = (
                f"event {p} in stream {s}: prev_hash does not match the hash of {before}; "
                f"one of the two was replaced"
            )
            raise BundleError(msg, at, expected=prev.hex(), found=rec.prev_hash)
        prev = rec.hash = event_hash(prev, rec.data)
        last = p
    if prev.hex() != chain.head_hash:
        msg = f"stream {s}: head hash (stream position {len(chain.positions) - 1}, global {last})"
        raise BundleError(msg, Where(CHAINS, last, s), expected=chain.head_hash, found=prev.hex())


def _check_checkpoints(
    manifest: Manifest, notes: Mapping[int, bytes], verifiers: Sequence[Verifier]
) -> dict[int, Checkpoint]:
    opened: dict[int, Checkpoint] = {}
    for size, note in notes.items():
        at = Where(note_path(size), checkpoint=size)
        try:
            cp = open_checkpoint(note, verifiers)
        except VerificationError as e:
            msg = f"checkpoint {size}: {e.message}"
            raise BundleError(msg, at, expected="a note signed by a trusted key") from None
        for what, want, got in (("size", size, cp.size), ("origin", manifest.origin, cp.origin)):
            if want != got:
                msg = f"checkpoint {size}: {what} expected {want}, found {got}"
                raise BundleError(msg, at, expected=want, found=got)
        opened[size] = cp
    if not opened or max(opened) != manifest.checkpoint_size:
        latest = max(opened, default=None)
        msg = f"{MANIFEST} names latest checkpoint {manifest.checkpoint_size}, the bundle holds {latest}"
        raise BundleError(msg, Where(MANIFEST), expected=manifest.checkpoint_size, found=latest)
    _check_links(opened, notes)
    return opened


def _check_links(opened: Mapping[int, Checkpoint], notes: Mapping[int, bytes]) -> None:
    """Check the checkpoint chain where consecutive checkpoints are both in the bundle."""
    prev_size = 0
    for size, cp in opened.items():
        at = Where(note_path(size), checkpoint=size)
        if cp.first < prev_size or cp.first >= size:
            msg = f"checkpoint {size}: batch start {cp.first} overlaps checkpoint {prev_size} or is empty"
            raise BundleError(msg, at, expected=f"{prev_size}..{size - 1}", found=cp.first)
        if cp.first == prev_size:
            want = ZERO_HASH if prev_size == 0 else note_hash(notes[prev_size])
            if cp.previous != want:
                before = "none (first checkpoint)" if prev_size == 0 else f"checkpoint {prev_size}"
                msg = f"checkpoint {size}: previous-checkpoint hash does not match {before}"
                raise BundleError(msg, at, expected=want.hex(), found=cp.previous.hex())
        prev_size = size


def _check_inclusion(
    members: Mapping[str, bytes], recs: Mapping[int, _Rec], opened: Mapping[int, Checkpoint]
) -> None:
    proofs = _members(members, "ip")
    stray = sorted(set(proofs) - set(recs))
    if stray:
        msg = f"inclusion proof for event {stray[0]}, which is not in the bundle"
        raise BundleError(msg, locate(inclusion_path(stray[0])))
    for p, rec in recs.items():
        name = inclusion_path(p)
        at = Where(name, p, rec.stream)
        if p not in proofs:
            raise BundleError(f"event {p} (stream {rec.stream}) has no inclusion proof", at)
        proof = _decode(name, proofs[p], InclusionFile, at)
        cp = opened.get(proof.tree_size)
        if proof.leaf_index != p or cp is None:
            msg = f"{name}: must prove leaf {p} under a checkpoint of the bundle"
            raise BundleError(msg, at, expected=p, found=f"leaf {proof.leaf_index} of {proof.tree_size}")
        path = [bytes.fromhex(h) for h in proof.audit_path]
        try:
            verify_inclusion(leaf_hash(rec.data), p, cp.size, path, cp.root)
        except VerificationError as e:
            msg = (
                f"event {p} (stream {rec.stream}) is not included under checkpoint {cp.size}: the record "
                f"or its proof {name} was altered: {e.message}"
            )
            where = Where(record_path(p), p, rec.stream, cp.size)
            raise BundleError(msg, where, expected=f"root {cp.root.hex()}") from None


def _check_consistency(members: Mapping[str, bytes], opened: Mapping[int, Checkpoint], latest: int) -> None:
    proofs = {name: raw for name, raw in members.items() if name.startswith("proofs/consistency/")}
    wanted = {consistency_path(s, latest): s for s in opened if s != latest}
    stray = sorted(set(proofs) - set(wanted))
    if stray:
        msg = f"{stray[0]}: no consistency proof of this pair belongs in the bundle"
        raise BundleError(msg, locate(stray[0]))
    for name, size in sorted(wanted.items(), key=lambda kv: kv[1]):
        at = Where(name, checkpoint=size)
        if name not in proofs:
            raise BundleError(f"checkpoint {size} has no consistency proof to checkpoint {latest}", at)
        proof = _decode(name, proofs[name], ConsistencyFile, at)
        if (proof.first, proof.second) != (size, latest):
            msg = f"{name}: proves {proof.first} → {proof.second}"
            raise BundleError(msg, at, expected=f"{size} → {latest}", found=f"{proof.first} → {proof.second}")
        path = [bytes.fromhex(h) for h in proof.consistency_path]
        try:
            verify_consistency(size, latest, path, opened[size].root, opened[latest].root)
        except VerificationError as e:
            msg = f"checkpoint {latest} is not proven an extension of checkpoint {size}: {e.message}"
            raise BundleError(msg, at) from None


def _check_receipts(
    members: Mapping[str, bytes], notes: Mapping[int, bytes], opened: Mapping[int, Checkpoint]
) -> int:
    count = 0
    for size, raw in _members(members, "rs").items():
        name = receipts_path(size)
        at = Where(name, checkpoint=size)
        if size not in notes:
            raise BundleError(f"{name}: receipt for checkpoint {size}, which is not in the bundle", at)
        body = _decode(name, raw, ReceiptsFile, at)
        if body.checkpoint_size != size:
            raise BundleError(f"{name}: checkpoint_size", at, expected=size, found=body.checkpoint_size)
        digest = hashlib.sha256(notes[size]).hexdigest()
        for n, receipt in enumerate(body.receipts):
            _check_anchor(f"{name} receipts[{n}]", at, receipt, size, digest, opened)
        count += len(body.receipts)
    return count


def _check_anchor(
    what: str, at: Where, receipt: AnchorProof, size: int, digest: str, opened: Mapping[int, Checkpoint]
) -> None:
    """One receipt: an ``anchor.written`` event for this exact note, included in the log."""
    data = bytes(receipt.anchor)
    try:
        record = decode_record(data)
        content = decode_anchor_content(record.event)
    except (msgspec.MsgspecError, UnicodeDecodeError) as e:
        raise BundleError(f"{what}: not a v1 anchor.written record: {e}", at) from None
    p, payload = record.ledger.position, content.payload
    at = replace(at, position=p, stream=content.stream)
    checks = (
        ("event type", ANCHOR_TYPE, content.type),
        ("stream", anchor_stream(payload.store), content.stream),
        ("checkpoint_size", size, payload.checkpoint_size),
        ("checkpoint_hash (sha256 of the note)", digest, payload.checkpoint_hash),
        ("object_sha256 (sha256 of the note)", digest, payload.object_sha256),
    )
    for field, want, got in checks:
        if want != got:
            raise BundleError(f"{what}: {field} expected {want}, found {got}", at, expected=want, found=got)
    proof = receipt.inclusion
    cp = opened.get(proof.tree_size)
    if proof.leaf_index != p or cp is None:
        msg = f"{what}: must prove the anchor event, leaf {p}, under a checkpoint of the bundle"
        raise BundleError(msg, at, expected=p, found=f"leaf {proof.leaf_index} of {proof.tree_size}")
    try:
        verify_inclusion(leaf_hash(data), p, cp.size, [bytes.fromhex(h) for h in proof.audit_path], cp.root)
    except VerificationError as e:
        msg = f"{what}: anchor event {p} is not included under checkpoint {cp.size}: {e.message}"
        raise BundleError(msg, at) from None


def _check_manifests(recs: Mapping[int, _Rec], opened: Mapping[int, Checkpoint]) -> None:
    """Recompute a checkpoint's batch manifest when the bundle holds its whole batch."""
    for size, cp in opened.items():
        batch = range(cp.first, size)
        if all(p in recs for p in batch):
            got = hashlib.sha256(b"".join(leaf_hash(recs[p].data) for p in batch)).digest()
            if got != cp.manifest:
                msg = f"checkpoint {size}: batch manifest of events {cp.first}..{size - 1} does not match"
                at = Where(note_path(size), checkpoint=size)
                raise BundleError(msg, at, expected=cp.manifest.hex(), found=got.hex())


def _check_events(raw: bytes, recs: Mapping[int, _Rec]) -> None:
    lines = raw.split(b"\n")
    if lines[-1] != b"" or len(lines) - 1 != len(recs):
        msg = f"{EVENTS}: expected {len(recs)} newline-terminated lines, found {len(lines) - 1}"
        raise BundleError(msg, Where(EVENTS), expected=len(recs), found=len(lines) - 1)
    for n, (line, rec) in enumerate(zip(lines, recs.values(), strict=False), start=1):
        want = event_line(rec.position, rec.stream, rec.stream_position, rec.hash, rec.data)
        if line + b"\n" != want:
            msg = f"{EVENTS} line {n}: does not agree with {record_path(rec.position)}{_diff(line, want)}"
            raise BundleError(
                msg,
                Where(EVENTS, rec.position, rec.stream),
                expected=want[:-1].decode(errors="replace")[:200],
                found=line.decode(errors="replace")[:200],
            )


def _diff(line: bytes, want: bytes) -> str:
    try:
        got, exp = msgspec.json.decode(line), msgspec.json.decode(want)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return " (not JSON)"
    if not isinstance(got, dict):
        return " (not a JSON object)"
    fields = sorted(k for k in set(exp) | set(got) if exp.get(k) != got.get(k))
    return f" (field {', '.join(fields)})" if fields else " (not in canonical form)"


def _check_scope(scope: Scope, chains: Sequence[Chain], recs: Mapping[int, _Rec], latest: int) -> None:
    at = Where(MANIFEST)
    missing = next((p for p in scope.positions if p not in recs), None)
    if missing is not None or scope.positions != sorted(set(scope.positions)):
        msg = f"{MANIFEST}: scope positions must be ascending, unique and in the bundle"
        raise BundleError(msg, Where(MANIFEST, missing), found=missing)
    by_stream = {c.stream: c.positions for c in chains}
    if scope.kind == "range":
        m = _RANGE.fullmatch(scope.value)
        want = list(range(int(m[1]), min(int(m[2]), latest))) if m else None
        if want != scope.positions:
            msg = f"scope range {scope.value}: the bundle must hold every position up to checkpoint {latest}"
            raise BundleError(msg, at, expected=_span(want), found=_span(scope.positions))
        return
    stream = scope.value if scope.kind == "stream" else f"Round:{scope.value}"
    chain = by_stream.get(stream)
    if chain is None or not set(chain) <= set(scope.positions):
        msg = f"scope {scope.kind} {scope.value}: every event of stream {stream} must be in the scope"
        raise BundleError(
            msg, Where(MANIFEST, stream=stream), expected=_span(chain), found=_span(scope.positions)
        )
    if scope.kind == "stream" and chain != scope.positions:
        msg = f"scope stream {stream}: the scope must be exactly the stream's events"
        raise BundleError(
            msg, Where(MANIFEST, stream=stream), expected=_span(chain), found=_span(scope.positions)
        )


def _span(ps: Sequence[int] | None) -> str:
    if ps is None:
        return "none"
    return f"{len(ps)} positions" + (f" {ps[0]}..{ps[-1]}" if ps else "")


def _check_counts(claimed: Counts, found: Counts) -> None:
    for field in ("checkpoints", "events", "receipts", "streams"):
        want, got = getattr(claimed, field), getattr(found, field)
        if want != got:
            msg = f"{MANIFEST}: counts.{field} is {want}, the bundle holds {got}"
            raise BundleError(msg, Where(MANIFEST), expected=want, found=got)
