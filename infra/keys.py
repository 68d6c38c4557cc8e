"""Per-subject data keys and AES-256-GCM field sealing (the ``FieldCipher`` port).

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
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.postgres import DDL_LOCK
from ledger.errors import PolicyViolationError, StorageError, VerificationError

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

    def seal(self, items: Sequence[tuple[str, bytes, bytes]]) -> list[tuple[str, str, str]]:
        """Seal (subject, aad, plaintext) items deterministically per key."""
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

    def open(self, items: Sequence[tuple[str, str, str, str, bytes]]) -> list[bytes | None]:
        """Open (subject, key id, nonce, ct, aad) items; None where the key was destroyed."""
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


class SqliteKeyTable:
    """Data keys in their own SQLite file, apart from the events (``var/keys.sqlite3``)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, key_id TEXT NOT NULL, "
            "wrapped BLOB, created_ms INTEGER NOT NULL, erased_ms INTEGER)"
        )

    def load(self, subjects: Sequence[str]) -> dict[str, tuple[str, bytes | None]]:
        """Known subjects' key ids and wrapped keys."""
        out: dict[str, tuple[str, bytes | None]] = {}
        for i in range(0, len(subjects), 500):
            chunk = list(subjects[i : i + 500])
            marks = ",".join("?" * len(chunk))
            q = f"SELECT subject, key_id, wrapped FROM subject_keys WHERE subject IN ({marks})"  # noqa: S608
            out.update((s, (k, None if w is None else bytes(w))) for s, k, w in self._db.execute(q, chunk))
        return out

    def insert(self, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Insert new keys (a concurrent insert for the same subject wins, ours is dropped)."""
        now = int(time.time() * 1000)
        try:
            self._db.executemany(
                "INSERT OR IGNORE INTO subject_keys VALUES (?, ?, ?, ?, NULL)", [(*r, now) for r in rows]
            )
        except sqlite3.Error as e:
            msg = f"cannot store data keys: {e}"
            raise StorageError(msg) from e

    def destroy(self, subject: str, at_ms: int) -> bool:
        """Delete the wrapped key, keep a tombstone."""
        cur = self._db.execute(
            "INSERT INTO subject_keys VALUES (?, 'erased', NULL, ?, ?) ON CONFLICT (subject) DO UPDATE "
            "SET wrapped = NULL, erased_ms = excluded.erased_ms WHERE subject_keys.wrapped IS NOT NULL",
            (subject, at_ms, at_ms),
        )
        return cur.rowcount > 0

    def close(self) -> None:
        """Close the file."""
        self._db.close()


class PostgresKeyTable:
    """Data keys in their own table (``ledger_subject_keys``) of the configured schema."""

    def __init__(self, dsn: str, schema: str = "public") -> None:
        try:
            self._db = psycopg.connect(dsn, autocommit=True)
            self._t = f'"{schema}".ledger_subject_keys'
            with self._db.transaction():
                self._db.execute(DDL_LOCK)
                self._db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {self._t} (subject text PRIMARY KEY, key_id text NOT NULL, "
                    "wrapped bytea, created_ms bigint NOT NULL, erased_ms bigint)"
                )
        except psycopg.Error as e:
            msg = f"cannot open PostgreSQL key table: {e}"
            raise StorageError(msg) from e
        self._lock = threading.Lock()

    def load(self, subjects: Sequence[str]) -> dict[str, tuple[str, bytes | None]]:
        """Known subjects' key ids and wrapped keys."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT subject, key_id, wrapped FROM {self._t} WHERE subject = ANY(%s)",  # noqa: S608
                (list(subjects),),
            ).fetchall()
        return {s: (k, None if w is None else bytes(w)) for s, k, w in rows}

    def insert(self, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Insert new keys; a concurrent insert for the same subject wins."""
        now = int(time.time() * 1000)
        with self._lock, self._db.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self._t} VALUES (%s, %s, %s, %s, NULL) ON CONFLICT DO NOTHING",  # noqa: S608
                [(*r, now) for r in rows],
            )

    def destroy(self, subject: str, at_ms: int) -> bool:
        """Delete the wrapped key, keep a tombstone."""
        with self._lock:
            cur = self._db.execute(
                f"INSERT INTO {self._t} VALUES (%s, 'erased', NULL, %s, %s) ON CONFLICT (subject) DO UPDATE "  # noqa: S608
                f"SET wrapped = NULL, erased_ms = excluded.erased_ms WHERE {self._t}.wrapped IS NOT NULL",
                (subject, at_ms, at_ms),
            )
            return cur.rowcount > 0

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
