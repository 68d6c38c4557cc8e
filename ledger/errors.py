"""One error hierarchy for the whole ledger; adapters translate driver errors into it."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose.

    ``field`` names the offending input field (dotted path) where there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class NotFoundError(LedgerError):
    """The thing asked for does not exist."""


class ConflictError(LedgerError):
    """The stream head moved, or an event id was reused with different content."""


class ValidationError(LedgerError):
    """Input does not match the catalogue (unknown type/version, bad field)."""


class VerificationError(LedgerError):
    """A chain, proof, signature or anchor does not check out."""


class ChainError(VerificationError):
    """The first fault found, located: global position, stream, stream position."""

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        stream: str | None = None,
        stream_position: int | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        super().__init__(message)
        self.position = position
        self.stream = stream
        self.stream_position = stream_position
        self.expected = expected
        self.found = found

    def as_dict(self) -> dict[str, object]:
        """The fault as data (for ``--json``)."""
        return {
            "message": self.message,
            "position": self.position,
            "stream": self.stream,
            "stream_position": self.stream_position,
            "expected": self.expected,
            "found": self.found,
        }


class PolicyViolationError(LedgerError):
    """A policy forbids the operation (e.g. personal data for an erased subject)."""


class PushbackError(LedgerError):
    """The ledger is overloaded; the caller should retry later."""


class StorageError(LedgerError):
    """The storage backend failed; the operation wrote nothing."""
