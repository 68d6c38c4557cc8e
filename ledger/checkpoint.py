"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes.

A checkpoint commits to the Merkle log (RFC 9162) at a tree size and says which positions
this checkpoint sealed, so a chain of checkpoints covers every position exactly once::

    audit-ledger.local/log                      origin (also the signing key name)
    1000                                        tree size, decimal, no leading zeros
    q0dlhHdEL3pEI7gRc1gT07FzFJhWsORM9oCnwyT+1Jo=  RFC 9162 root hash, standard base64
    timestamp 2026-03-01T10:00:00.000Z          when it was sealed (ledger clock, UTC ms)
    batch 900 1000                              positions [first, end) sealed; end == size
    manifest 5f0c…(64 hex)                      SHA-256 of those positions' leaf hashes
    previous 9a1e…(64 hex)                      SHA-256 of the previous signed note (zeros first)

    — audit-ledger.local/log <base64(4-byte key hash ‖ 64-byte Ed25519 signature)>

The four extension lines are always present, in this order (https://c2sp.org/tlog-checkpoint
allows opaque extension lines; ours are fixed so a parser can be exact). Signature lines
follow https://c2sp.org/signed-note: unknown keys are ignored, a known key whose signature
fails rejects the note, and at least one known key must verify. Our verifiers also carry a
validity window, so a key counts only if it was valid at the checkpoint's timestamp.

Parsing is strict: one byte out of place is an error naming its (1-based) note line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Final, Protocol

import msgspec

from ledger.catalogue.types import Timestamp
from ledger.errors import ValidationError, VerificationError

ZERO_HASH: Final = bytes(32)
ED25519_TYPE: Final = b"\x01"
MAX_SIZE: Final = 2**64 - 1
MAX_SIGNATURES: Final = 64
_HASH_LEN: Final = 32
_KEY_HASH_LEN: Final = 4
_DASH: Final = "\u2014 "

_NAME = re.compile(r"[^\s+]+")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class CheckpointError(VerificationError):
    """A checkpoint note is malformed or not signed by a trusted, valid key.

    ``field`` names the checkpoint part at fault (``checkpoint.size``,
    ``checkpoint.signature``); ``line`` is the 1-based note line, where there is one.
    """

    def __init__(self, message: str, *, field: str = "checkpoint", line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message, field=field)
        self.line = line


class Signer(Protocol):
    """Signs note text under a named key (signed-note: name + 4-byte key hash)."""

    @property
    def name(self) -> str:
        """The key name written in the signature line."""
        ...

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key ID of signed-note."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Return the signature of ``message`` (64 bytes for Ed25519)."""
        ...


class Verifier(Protocol):
    """Verifies signatures of one named key and knows when that key was valid."""

    @property
    def name(self) -> str:
        """The key name a signature line must carry."""
        ...

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key ID a signature must start with."""
        ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` (without the key hash) signs ``message``.

        A bool, not a raise, on purpose (the GUIDE's "never a bare False" is kept one level
        up): the primitive only answers yes or no, like the cryptography libraries it wraps,
        and ``open_checkpoint``, which knows the key label and the checkpoint size, raises
        the located ``CheckpointError``.
        """
        ...

    def valid_at(self, timestamp: str) -> bool:
        """Return whether the key was valid at ``timestamp`` (``YYYY-MM-DDTHH:MM:SS.mmmZ``)."""
        ...


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """One checkpoint: the tree head at ``size`` and the batch ``[first, size)`` it sealed.

    Invariants (checked on construction, ``ValidationError`` naming the field): ``origin``
    is a signed-note key name (non-empty, no spaces, no ``+``); ``0 <= first < size <=
    2**64 - 1`` (a checkpoint seals at least one position, so sizes never repeat);
    ``root``, ``manifest`` and ``previous`` are 32 bytes; ``timestamp`` is canonical UTC ms.
    """

    origin: str
    size: int
    root: bytes
    timestamp: str
    first: int
    manifest: bytes
    previous: bytes

    def __post_init__(self) -> None:
        """Check the invariants."""
        _check_name(self.origin, "origin")
        if not 0 <= self.first < self.size <= MAX_SIZE:
            msg = f"need 0 <= first < size <= 2**64-1, got first={self.first} size={self.size}"
            raise ValidationError(msg, field="size")
        for name in ("root", "manifest", "previous"):
            if len(getattr(self, name)) != _HASH_LEN:
                raise ValidationError("must be 32 bytes", field=name)
        check_timestamp(self.timestamp)

    def body(self) -> bytes:
        """Return the note text that is signed (tlog-checkpoint with our extension lines)."""
        return (
            f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"
            f"timestamp {self.timestamp}\n"
            f"batch {self.first} {self.size}\n"
            f"manifest {self.manifest.hex()}\n"
            f"previous {self.previous.hex()}\n"
        ).encode()


def check_timestamp(text: str, field: str = "timestamp") -> str:
    """Return ``text`` if it is a canonical ``YYYY-MM-DDTHH:MM:SS.mmmZ`` instant.

    Raises:
        ValidationError: any other shape, or not a real instant.
    """
    try:
        ok = _TIMESTAMP.fullmatch(text) is not None and Timestamp.parse(text).canonical() == text
    except ValueError:
        ok = False
    if not ok:
        raise ValidationError(f"expected YYYY-MM-DDTHH:MM:SS.mmmZ, got {text!r}", field=field)
    return text


def _check_name(name: str, field: str) -> None:
    if not _NAME.fullmatch(name) or _CONTROL.search(name):
        raise ValidationError(f"must be non-empty without spaces or '+', got {name!r}", field=field)


def ed25519_key_hash(name: str, public_key: bytes) -> bytes:
    """Return the signed-note key ID: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[:_KEY_HASH_LEN]


def manifest_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """Return SHA-256 over the concatenated 32-byte leaf hashes, in position order.

    Raises:
        ValidationError: a leaf hash is not 32 bytes.
    """
    h = hashlib.sha256()
    for i, leaf in enumerate(leaf_hashes):
        if len(leaf) != _HASH_LEN:
            raise ValidationError(f"must be 32 bytes, got {len(leaf)}", field=f"leaf_hashes[{i}]")
        h.update(leaf)
    return h.digest()


def note_hash(note: bytes) -> bytes:
    """Return SHA-256 of a full signed note (what the next checkpoint's ``previous`` holds)."""
    return hashlib.sha256(note).digest()


def sign_checkpoint(cp: Checkpoint, signers: Sequence[Signer]) -> bytes:
    """Return the signed note: body, blank line, one signature line per signer.

    Raises:
        ValidationError: no signer, or a signer's name or key hash is malformed.
    """
    if not signers:
        raise ValidationError("at least one signer is needed", field="signers")
    body = cp.body()
    lines = []
    for i, s in enumerate(signers):
        _check_name(s.name, f"signers[{i}].name")
        if len(s.key_hash) != _KEY_HASH_LEN:
            raise ValidationError("must be 4 bytes", field=f"signers[{i}].key_hash")
        blob = base64.b64encode(s.key_hash + s.sign(body)).decode()
        lines.append(f"{_DASH}{s.name} {blob}\n")
    return body + b"\n" + "".join(lines).encode()


def parse_checkpoint(note: bytes) -> tuple[Checkpoint, list[tuple[str, bytes, bytes]]]:
    """Parse a signed note strictly, without verifying any signature.

    Returns the checkpoint and its signatures as (key name, 4-byte key hash, signature).

    Raises:
        CheckpointError: the note is not exactly our checkpoint format; names the line.
    """
    text = _decode(note)
    body, sep, block = text.rpartition("\n\n")
    if not sep:
        raise CheckpointError("no blank line before the signatures", field="checkpoint.signature")
    lines = body.split("\n")
    return _parse_body(lines), _parse_signatures(block, first_line=len(lines) + 2)


def open_checkpoint(note: bytes, verifiers: Sequence[Verifier]) -> Checkpoint:
    """Parse and verify a signed checkpoint note against trusted keys.

    A signature counts when a verifier has the same name and key hash, the signature
    verifies over the note text, and the key was valid at the checkpoint's timestamp.
    Signatures by unknown keys are ignored (signed-note).

    Raises:
        CheckpointError: malformed, a known key's signature fails, or no signature counts.
    """
    cp, signatures = parse_checkpoint(note)
    body = cp.body()
    refused: list[str] = []
    counted = 0
    for name, key_hash, sig in signatures:
        label = f"{name}+{key_hash.hex()}"
        for v in verifiers:
            if v.name != name or v.key_hash != key_hash:
                continue
            if not v.verify(body, sig):
                msg = f"signature invalid: key {label} does not sign this checkpoint (size {cp.size})"
                raise CheckpointError(msg, field="checkpoint.signature")
            if v.valid_at(cp.timestamp):
                counted += 1
            else:
                refused.append(f"key {label} not valid at timestamp {cp.timestamp}")
    if counted:
        return cp
    if refused:
        raise CheckpointError("; ".join(refused), field="checkpoint.signature")
    seen = ", ".join(f"{n}+{h.hex()}" for n, h, _ in signatures)
    msg = f"unknown key: no signature by a trusted key (signed by {seen})"
    raise CheckpointError(msg, field="checkpoint.signature")


def _decode(note: bytes) -> str:
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError as e:
        line = note[: e.start].count(b"\n") + 1
        raise CheckpointError("not valid UTF-8", line=line) from None
    bad = _CONTROL.search(text)
    if bad:
        line = text[: bad.start()].count("\n") + 1
        raise CheckpointError(f"control character {bad.group()!r}", line=line)
    return text


def _parse_body(lines: list[str]) -> Checkpoint:
    shapes = ("origin", "size", "root", "timestamp", "batch", "manifest", "previous")
    if len(lines) != len(shapes):
        msg = f"expected {len(shapes)} lines before the blank line ({', '.join(shapes)}), got {len(lines)}"
        raise CheckpointError(msg, field="checkpoint", line=min(len(lines), len(shapes)) + 1)
    origin, size_text, root_text = lines[:3]
    if not _NAME.fullmatch(origin):
        raise CheckpointError(f"bad origin {origin!r}", field="checkpoint.origin", line=1)
    size = _decimal(size_text, "checkpoint.size", 2)
    root = _b64(root_text, "checkpoint.root", 3, _HASH_LEN)
    timestamp = _extension(lines[3], "timestamp", 4)
    try:
        check_timestamp(timestamp)
    except ValidationError:
        raise CheckpointError(f"bad timestamp {timestamp!r}", field="checkpoint.timestamp", line=4) from None
    first_text, _, end_text = _extension(lines[4], "batch", 5).partition(" ")
    first = _decimal(first_text, "checkpoint.first", 5)
    if _decimal(end_text, "checkpoint.first", 5) != size:
        msg = f"batch end {end_text} differs from tree size {size}"
        raise CheckpointError(msg, field="checkpoint.first", line=5)
    manifest = _hex(_extension(lines[5], "manifest", 6), "checkpoint.manifest", 6)
    previous = _hex(_extension(lines[6], "previous", 7), "checkpoint.previous", 7)
    try:
        return Checkpoint(
            origin=origin, size=size, root=root, timestamp=timestamp,
            first=first, manifest=manifest, previous=previous,
        )  # fmt: skip
    except ValidationError as e:
        line = {"origin": 1, "size": 5, "root": 3, "timestamp": 4}.get(e.field or "")
        raise CheckpointError(e.message, field=f"checkpoint.{e.field}", line=line) from None


def _parse_signatures(block: str, first_line: int) -> list[tuple[str, bytes, bytes]]:
    if not block:
        raise CheckpointError("no signature lines", field="checkpoint.signature", line=first_line)
    if not block.endswith("\n"):
        msg = "the note must end with a newline"
        raise CheckpointError(msg, field="checkpoint.signature", line=first_line + block.count("\n"))
    sig_lines = block[:-1].split("\n")
    if len(sig_lines) > MAX_SIGNATURES:
        raise CheckpointError(f"more than {MAX_SIGNATURES} signatures", field="checkpoint.signature")
    out = []
    for n, line in enumerate(sig_lines, start=first_line):
        name, sp, blob = line.removeprefix(_DASH).partition(" ")
        if not line.startswith(_DASH) or not sp or not _NAME.fullmatch(name):
            msg = f"expected '\u2014 <key name> <base64 signature>', got {line[:60]!r}"
            raise CheckpointError(msg, field="checkpoint.signature", line=n)
        raw = _b64(blob, "checkpoint.signature", n, None)
        if len(raw) <= _KEY_HASH_LEN:
            raise CheckpointError("signature too short", field="checkpoint.signature", line=n)
        out.append((name, raw[:_KEY_HASH_LEN], raw[_KEY_HASH_LEN:]))
    return out


def _extension(line: str, keyword: str, n: int) -> str:
    head, sp, value = line.partition(" ")
    if head != keyword or not sp:
        raise CheckpointError(
            f"expected '{keyword} …', got {line[:60]!r}", field=f"checkpoint.{keyword}", line=n
        )
    return value


def _decimal(text: str, field: str, n: int) -> int:
    if not _DECIMAL.fullmatch(text) or int(text) > MAX_SIZE:
        msg = f"expected a decimal without leading zeros (at most 2**64-1), got {text[:30]!r}"
        raise CheckpointError(msg, field=field, line=n)
    return int(text)


def _hex(text: str, field: str, n: int) -> bytes:
    if not _HEX64.fullmatch(text):
        raise CheckpointError(f"expected 64 lower-case hex digits, got {text[:70]!r}", field=field, line=n)
    return bytes.fromhex(text)


def _b64(text: str, field: str, n: int, length: int | None) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True) if _BASE64.fullmatch(text) else None
    except binascii.Error:
        raw = None
    # Only the canonical encoding is accepted, so no two notes decode to the same bytes.
    if raw is None or base64.b64encode(raw).decode() != text or (length is not None and len(raw) != length):
        want = f"standard base64 of {length} bytes" if length else "standard base64"
        raise CheckpointError(f"expected {want}, got {text[:60]!r}", field=field, line=n)
    return raw
