"""Per-subject data keys and AES-256-GCM field sealing (the ``FieldCipher`` port) over a ``KeyTable``.

Each data subject (a ``player_ref``, an operator's ``user_id``) gets its own random 256-bit
data key, stored apart from the events and wrapped (AES-256-GCM) by the key-encryption key
from settings. Erasure deletes the wrapped key and leaves a tombstone, so the subject's
sealed fields can never be opened again and no new personal data is accepted for it.

Nonces are synthetic (HMAC-SHA256 of aad ‖ plaintext under the data key, first 12 bytes):
the same value sealed twice for the same event and field yields the same ciphertext, which
is what makes an idempotent resubmission byte-identical; different plaintexts get different
nonces, so a nonce is never reused with another message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.errors import PolicyViolationError, VerificationError

_WRAP_AAD = b"audit-ledger/data-key/v1"


class KeyTable(Protocol):
    """Where wrapped data keys live: ``subject -> (key_id, wrapped key or None if erased)``."""

    def load(self, subjects: Sequence[str]) -> dict[str, tuple[str, bytes | None]]:
        """Return the known subjects' key ids and wrapped keys (None: erased)."""
        ...

    def insert(self, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Insert new (subject, key_id, wrapped) rows; existing subjects are left alone."""
        ...

    def destroy(self, subject: str, at_ms: int) -> bool:
        """Delete a subject's wrapped key, keeping a tombstone; False if it had none."""
        ...

    def close(self) -> None:
        """Release the table."""
        ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class AesGcmFieldCipher:
    """``FieldCipher`` over a ``KeyTable``, with keys wrapped by a 32-byte KEK."""

    def __init__(self, table: KeyTable, kek: bytes) -> None:
        if len(kek) != 32:  # noqa: PLR2004 - AES-256
            msg = f"key-encryption key must be 32 bytes, got {len(kek)}"
            raise ValueError(msg)
        self._table = table
        self._kek = AESGCM(kek)
        self._lock = threading.Lock()

    def _keys(self, subjects: Sequence[str], *, create: bool) -> dict[str, tuple[str, bytes | None]]:
        wanted = sorted(set(subjects))
        with self._lock:
            found = self._table.load(wanted)
            new = [s for s in wanted if s not in found] if create else []
            if new:
                rows = []
                for s in new:
                    nonce = os.urandom(12)
                    wrapped = nonce + self._kek.encrypt(nonce, os.urandom(32), _WRAP_AAD + s.encode())
                    rows.append((s, f"dk-{hashlib.sha256(wrapped).hexdigest()[:16]}", wrapped))
                self._table.insert(rows)
                found = self._table.load(wanted)
        return {s: (kid, None if w is None else self._unwrap(s, w)) for s, (kid, w) in found.items()}

    def _unwrap(self, subject: str, wrapped: bytes) -> bytes:
        try:
            return self._kek.decrypt(wrapped[:12], wrapped[12:], _WRAP_AAD + subject.encode())
        except InvalidTag:
            msg = f"data key of subject {subject} does not unwrap under the configured KEK"
            raise VerificationError(msg) from None

    def encrypt(self, items: Sequence[tuple[str, bytes, bytes]]) -> list[tuple[str, str, str]]:
        """Encrypt (subject, aad, plaintext) items deterministically per key."""
        keys = self._keys([s for s, _, _ in items], create=True)
        out = []
        for subject, aad, plain in items:
            key_id, key = keys[subject]
            if key is None:
                msg = f"subject {subject} was erased; new personal data for it is refused"
                raise PolicyViolationError(msg, field="payload")
            nonce = hmac.new(key, aad + b"\x00" + plain, hashlib.sha256).digest()[:12]
            out.append((key_id, _b64(nonce), _b64(AESGCM(key).encrypt(nonce, plain, aad))))
        return out

    def decrypt(self, items: Sequence[tuple[str, str, str, str, bytes]]) -> list[bytes | None]:
        """Decrypt (subject, key id, nonce, ct, aad) items; None where the key was destroyed."""
        keys = self._keys([s for s, *_ in items], create=False)
        out: list[bytes | None] = []
        for subject, key_id, nonce, ct, aad in items:
            kid, key = keys.get(subject, (key_id, None))
            if key is None or kid != key_id:
                out.append(None)
                continue
            try:
                out.append(AESGCM(key).decrypt(base64.b64decode(nonce), base64.b64decode(ct), aad))
            except InvalidTag:
                msg = f"sealed field of subject {subject} does not authenticate (altered ciphertext)"
                raise VerificationError(msg) from None
        return out

    def erase(self, subject: str) -> bool:
        """Destroy the subject's data key."""
        with self._lock:
            return self._table.destroy(subject, int(time.time() * 1000))

    def close(self) -> None:
        """Close the key table."""
        self._table.close()
