"""One error hierarchy for the whole ledger; adapters translate driver errors into it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


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


@dataclass(frozen=True, slots=True)
class Where:
    """Where a fault is: a bundle member, an event (global and stream position, stream), a checkpoint."""

    file: str | None = None
    position: int | None = None
    stream: str | None = None
    checkpoint: int | None = None
    stream_position: int | None = None


class LocatedError(VerificationError):
    """The first fault found, located, with what was expected and what was found.

    ``as_dict`` gives it as data (the CLI's ``--json``, stored verification results): the
    message, the location fields the subclass names in ``located``, then expected/found.
    """

    located: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, message: str, at: Where | None = None, *, expected: object = None, found: object = None
    ) -> None:
        super().__init__(message)
        at = at or Where()
        self.file = at.file
        self.position = at.position
        self.stream = at.stream
        self.checkpoint = at.checkpoint
        self.stream_position = at.stream_position
        self.expected = None if expected is None else str(expected)
        self.found = None if found is None else str(found)

    def as_dict(self) -> dict[str, object]:
        """The fault as data (for ``--json``)."""
        where = {name: getattr(self, name) for name in self.located}
        return {"message": self.message, **where, "expected": self.expected, "found": self.found}


class ChainError(LocatedError):
    """A fault in the stored log, located: global position, stream, stream position."""

    located = ("position", "stream", "stream_position")

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
        at = Where(position=position, stream=stream, stream_position=stream_position)
        super().__init__(message, at, expected=expected, found=found)


class PolicyViolationError(LedgerError):
    """A policy forbids the operation (e.g. personal data for an erased subject)."""


class PushbackError(LedgerError):
    """The ledger is overloaded; the caller should retry later."""


class StorageError(LedgerError):
    """The storage backend failed; the operation wrote nothing."""
