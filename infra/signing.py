"""Ed25519 checkpoint keys in a directory: the keyring, rotation, and the trusted-key file.

Layout of the signing directory (default ``var/signing/``, mode 0700)::

    keyring.json          {"version":1,"keys":[{"name","key_hash","public_key","valid_from",
                           "retired_at","private_key_file"}, …]}   (public facts only)
    <key hash hex>.key    the private key, PKCS#8 PEM, mode 0600, created exclusively

Exactly one key is active (``retired_at`` null). ``rotate`` creates a new key valid from
now and retires the active one at the same instant; retired keys stay in the keyring so
old checkpoints keep verifying. A key is valid at ``t`` iff ``valid_from <= t < retired_at``.

The trusted-key file (``export_public``, read by :func:`load_trusted`, what an auditor passes
as ``--trusted-key``) is UTF-8 text, one key per line, ``#`` comments and blank lines ignored::

    <name>+<8 hex key hash>+<base64(0x01 ‖ 32-byte public key)> <valid_from> <retired_at or ->

The first field is exactly a C2SP signed-note verifier key (vkey), so other note tooling
reads it; the two timestamps (``YYYY-MM-DDTHH:MM:SS.mmmZ``) bound when the key may sign.
"""

from __future__ import annotations

import base64
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from infra.clock import SystemClock
from infra.files import fsync_dir
from ledger.catalogue.types import Timestamp
from ledger.checkpoint import ED25519_TYPE, check_timestamp, ed25519_key_hash
from ledger.errors import ConflictError, NotFoundError, StorageError, ValidationError, VerificationError
from ledger.ports import Clock

KEYRING: Final = "keyring.json"
_PUBLIC_LEN: Final = 32
_SIGNATURE_LEN: Final = 64


class KeyEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One key as ``keyring.json`` records it (public facts and the private key's file name)."""

    name: str
    key_hash: str
    public_key: str
    valid_from: str
    retired_at: str | None = None
    private_key_file: str


class KeyringFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole ``keyring.json``."""

    version: int = 1
    keys: list[KeyEntry]


class Ed25519Signer:
    """A :class:`ledger.checkpoint.Signer` over an Ed25519 private key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.name = name
        self.public_key = private_key.public_key().public_bytes_raw()
        self.key_hash = ed25519_key_hash(name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message`` (RFC 8032)."""
        return self._key.sign(message)


class Ed25519Verifier:
    """A :class:`ledger.checkpoint.Verifier`: one public key and its validity window."""

    def __init__(self, name: str, public_key: bytes, valid_from: str, retired_at: str | None) -> None:
        self._key = Ed25519PublicKey.from_public_bytes(public_key)
        self.name = name
        self.public_key = public_key
        self.key_hash = ed25519_key_hash(name, public_key)
        self.valid_from = valid_from
        self.retired_at = retired_at

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is this key's Ed25519 signature of ``message``."""
        if len(signature) != _SIGNATURE_LEN:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def valid_at(self, timestamp: str) -> bool:
        """Return whether ``valid_from <= timestamp < retired_at`` (retired_at null: open)."""
        t = Timestamp.parse(timestamp)
        if t < Timestamp.parse(self.valid_from):
            return False
        return self.retired_at is None or t < Timestamp.parse(self.retired_at)

    def vkey(self) -> str:
        """Return the signed-note verifier key ``<name>+<hash hex>+<base64(0x01 ‖ key)>``."""
        blob = base64.b64encode(ED25519_TYPE + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{blob}"

    def trusted_line(self) -> str:
        """Return this key's line of the trusted-key file."""
        return f"{self.vkey()} {self.valid_from} {self.retired_at or '-'}"


class Keyring:
    """The signing keys in ``directory``; every call re-reads ``keyring.json``.

    Re-reading means a long-running sealer picks up a rotation made by ``ledger keys rotate``.
    Writes (``init``, ``rotate``) hold an exclusive ``flock`` on ``<directory>/.lock``.
    """

    def __init__(self, directory: str | Path, clock: Clock | None = None) -> None:
        self.directory = Path(directory)
        self.clock: Clock = clock or SystemClock()

    @classmethod
    def init(cls, directory: str | Path, name: str, clock: Clock | None = None) -> Keyring:
        """Create the keyring with one active key named ``name``.

        Raises:
            ConflictError: a keyring already exists in ``directory``.
            ValidationError: ``name`` is not a signed-note key name.
        """
        if not name or any(c.isspace() or c == "+" for c in name):
            raise ValidationError(f"must be non-empty without spaces or '+', got {name!r}", field="name")
        ring = cls(directory, clock)
        ring.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with ring._locked():
            if ring.path.exists():
                msg = f"a signing keyring already exists in {ring.directory}; use `ledger keys rotate`"
                raise ConflictError(msg, field="LEDGER_SIGNING_DIR")
            entry = ring._new_key(name, ring._now())
            ring._write(KeyringFile(keys=[entry]))
        return ring

    @property
    def path(self) -> Path:
        """The ``keyring.json`` file."""
        return self.directory / KEYRING

    def rotate(self) -> Ed25519Verifier:
        """Retire the active key now and create its successor (same name); return the new key.

        Raises:
            NotFoundError: there is no keyring.
            ConflictError: the clock is earlier than the active key's ``valid_from``.
        """
        with self._locked():
            ring = self._read()
            active = _active(ring, self.directory)
            now = self._now()
            if Timestamp.parse(now) < Timestamp.parse(active.valid_from):
                msg = f"clock {now} is earlier than the active key's valid_from {active.valid_from}"
                raise ConflictError(msg, field="clock")
            entry = self._new_key(active.name, now)
            keys = [msgspec.structs.replace(k, retired_at=now) if k is active else k for k in ring.keys]
            self._write(KeyringFile(keys=[*keys, entry]))
        return _verifier(entry)

    def active_signer(self) -> Ed25519Signer:
        """Return a signer for the active key.

        Raises:
            NotFoundError: there is no keyring or no private key file.
            VerificationError: the private key does not match the keyring's public key.
        """
        entry = _active(self._read(), self.directory)
        path = self.directory / entry.private_key_file
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise NotFoundError(f"private key file {path} is missing", field="LEDGER_SIGNING_DIR") from None
        except (OSError, ValueError, TypeError) as e:
            raise StorageError(f"cannot load private key {path}: {e}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise StorageError(f"private key {path} is not an Ed25519 key")
        signer = Ed25519Signer(entry.name, key)
        if signer.key_hash.hex() != entry.key_hash:
            msg = f"private key {path}: expected key hash {entry.key_hash}, got {signer.key_hash.hex()}"
            raise VerificationError(msg, field="LEDGER_SIGNING_DIR")
        return signer

    def verifiers(self) -> list[Ed25519Verifier]:
        """Return every key (active and retired) with its validity window, oldest first.

        Raises:
            NotFoundError: there is no keyring.
        """
        return [_verifier(k) for k in self._read().keys]

    def export_public(self) -> str:
        """Return the trusted-key file for auditors (format in the module docstring)."""
        lines = [
            "# audit-ledger checkpoint keys: <C2SP vkey> <valid_from> <retired_at or ->",
            *(v.trusted_line() for v in self.verifiers()),
        ]
        return "\n".join(lines) + "\n"

    def _now(self) -> str:
        return Timestamp.from_epoch_ms(self.clock.now_ms()).canonical()

    def _read(self) -> KeyringFile:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            msg = f"no signing keyring in {self.directory}; create one with `ledger keys init`"
            raise NotFoundError(msg, field="LEDGER_SIGNING_DIR") from None
        except OSError as e:
            raise StorageError(f"cannot read {self.path}: {e.strerror}") from None
        try:
            return msgspec.json.decode(data, type=KeyringFile)
        except msgspec.DecodeError as e:  # includes msgspec.ValidationError
            raise ValidationError(f"{self.path}: {e}", field="LEDGER_SIGNING_DIR") from None

    def _new_key(self, name: str, valid_from: str) -> KeyEntry:
        while True:
            key = Ed25519PrivateKey.generate()
            signer = Ed25519Signer(name, key)
            file = f"{signer.key_hash.hex()}.key"
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            try:
                _write_exclusive(self.directory / file, pem, 0o600)
            except FileExistsError:
                continue  # a 4-byte key hash collided with an earlier key: draw another key
            return KeyEntry(
                name=name,
                key_hash=signer.key_hash.hex(),
                public_key=base64.b64encode(signer.public_key).decode(),
                valid_from=valid_from,
                private_key_file=file,
            )

    def _write(self, ring: KeyringFile) -> None:
        tmp = self.directory / f".{KEYRING}.tmp"
        tmp.unlink(missing_ok=True)
        _write_exclusive(tmp, msgspec.json.format(msgspec.json.encode(ring)) + b"\n", 0o644)
        tmp.replace(self.path)
        fsync_dir(self.directory)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            msg = f"no signing keyring in {self.directory}; create one with `ledger keys init`"
            raise NotFoundError(msg, field="LEDGER_SIGNING_DIR") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def load_trusted(text: str) -> list[Ed25519Verifier]:
    """Parse a trusted-key file (see the module docstring) into verifiers.

    Raises:
        ValidationError: a line is malformed or its key hash does not match its key;
            ``field`` is ``trusted_key.line[N]`` (1-based).
    """
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(_trusted_line(line, f"trusted_key.line[{n}]"))
    if not out:
        raise ValidationError("no keys in the trusted-key file", field="trusted_key")
    return out


def _trusted_line(line: str, field: str) -> Ed25519Verifier:
    parts = line.split(" ")
    if len(parts) != 3:  # noqa: PLR2004 - vkey, valid_from, retired_at
        raise ValidationError("expected '<vkey> <valid_from> <retired_at or ->'", field=field)
    vkey, valid_from, retired = parts
    name, _, rest = vkey.partition("+")
    hash_hex, _, blob = rest.partition("+")
    try:
        raw = base64.b64decode(blob, validate=True)
    except ValueError:
        raw = b""
    if not name or len(hash_hex) != 8 or len(raw) != _PUBLIC_LEN + 1 or raw[:1] != ED25519_TYPE:  # noqa: PLR2004
        raise ValidationError(f"expected an Ed25519 vkey <name>+<8 hex>+<base64>, got {vkey!r}", field=field)
    check_timestamp(valid_from, field)
    retired_at = None if retired == "-" else check_timestamp(retired, field)
    try:
        verifier = Ed25519Verifier(name, raw[1:], valid_from, retired_at)
    except ValueError as e:
        raise ValidationError(f"bad public key: {e}", field=field) from None
    if verifier.key_hash.hex() != hash_hex:
        msg = f"key hash mismatch: expected {verifier.key_hash.hex()}, got {hash_hex}"
        raise ValidationError(msg, field=field)
    return verifier


def _active(ring: KeyringFile, directory: Path) -> KeyEntry:
    active = [k for k in ring.keys if k.retired_at is None]
    if len(active) != 1:
        msg = f"{directory / KEYRING}: expected exactly one active key, found {len(active)}"
        raise ValidationError(msg, field="LEDGER_SIGNING_DIR")
    return active[0]


def _verifier(entry: KeyEntry) -> Ed25519Verifier:
    try:
        return Ed25519Verifier(
            entry.name, base64.b64decode(entry.public_key, validate=True), entry.valid_from, entry.retired_at
        )
    except ValueError as e:
        msg = f"{KEYRING}: key {entry.key_hash}: bad public key: {e}"
        raise ValidationError(msg, field="LEDGER_SIGNING_DIR") from None


def _write_exclusive(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (never replacing one), write ``data``, fsync; mode set exactly."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
