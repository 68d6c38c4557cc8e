"""The ports through which the pure core reaches storage, keys and time.

The core's nine ports (``Protocol`` classes; infra implements them):

- here: ``EventStore`` (the chained records), ``FieldCipher`` (per-subject PII
  encryption), ``Clock``;
- ``ledger.merkle_log``: ``TreeStore`` (tree nodes and checkpoint notes) and
  ``RunReader`` (its optional bulk read);
- ``ledger.worm``: ``WormStore`` (create-only, retention-locked checkpoint copies);
- ``ledger.checkpoint``: ``Signer`` and ``Verifier`` (signed-note keys);
- ``ledger.verify.ranges``: ``RangeRunner`` (ranges of a large ledger checked side by side).

Each stays beside the types it speaks in (``NodeKey``, ``WormReceipt``, ``Checkpoint``,
``RangeTask``). ``TreeStore`` and ``RangeRunner`` could not move here anyway: their
modules' types come from modules that import this one. Outside the core:
``projections.ports.ViewStore`` and infra's ``KeyTable`` (behind ``FieldCipher``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from ledger.chain import Head, Pending, StoredColumns, StoredRecord
from ledger.errors import LedgerError
from ledger.event import Receipt


class EventStore(Protocol):
    """Durable, append-only storage of chained records.

    ``append`` links and writes all batches in one transaction under the store's write
    lock (the group commit); a batch that conflicts gets its error, the others commit.
    """

    def append(self, batches: Sequence[Sequence[Pending]]) -> list[list[Receipt] | LedgerError]:
        """Link and durably write ``batches``; return receipts or an error per batch."""
        ...

    def read(self, start: int, limit: int) -> list[StoredRecord]:
        """Return up to ``limit`` records from global position ``start`` on, in order."""
        ...

    def read_columns(self, start: int, limit: int) -> StoredColumns:
        """Return what ``read`` returns, column by column, without an object per record.

        For bulk readers such as whole-log verification: ids come as stored, in hex.
        """
        ...

    def read_stream(self, stream: str, start: int = 0, limit: int | None = None) -> list[StoredRecord]:
        """Return a stream's records from stream position ``start`` on, in order."""
        ...

    def get(self, event_id: str) -> StoredRecord | None:
        """Return the record appended under ``event_id``, if any."""
        ...

    def heads(self) -> Iterator[tuple[str, Head]]:
        """Yield every stream head (stream name, head), in no particular order."""
        ...

    def size(self) -> int:
        """Return the number of records (the next global position)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class FieldCipher(Protocol):
    """Per-subject authenticated encryption of personal fields (AES-256-GCM in infra).

    Encryption is deterministic for a given subject key, aad and plaintext, so an idempotent
    resubmission produces identical ciphertext; ``aad`` binds a value to its event and field.
    """

    def encrypt(self, items: Sequence[tuple[str, bytes, bytes]]) -> list[tuple[str, str, str]]:
        """Encrypt (subject, aad, plaintext) items; return (key id, nonce b64, ciphertext b64).

        Raises:
            PolicyViolationError: a subject was erased and may not receive new personal data.
        """
        ...

    def decrypt(self, items: Sequence[tuple[str, str, str, str, bytes]]) -> list[bytes | None]:
        """Decrypt (subject, key id, nonce, ct, aad) items; ``None`` where the key was destroyed.

        Raises:
            VerificationError: a ciphertext does not authenticate under its key.
        """
        ...

    def erase(self, subject: str) -> bool:
        """Destroy the subject's data key; return False when there was none to destroy."""
        ...

    def close(self) -> None:
        """Release the key table."""
        ...


class Clock(Protocol):
    """The ledger's clock (UTC)."""

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        ...
