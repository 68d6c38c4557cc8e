"""Value types shared by every event payload: UTC millisecond timestamps, money, references.

Invariants the canonical encoding relies on:
- a ``Timestamp`` is always UTC with millisecond precision; it encodes as
  ``YYYY-MM-DDTHH:MM:SS.mmmZ``;
- a ``Money`` amount is a ``Decimal`` carrying exactly its currency's ISO-4217 minor
  units (``10`` EUR is stored as ``10.00``); more decimals than the currency has is an error.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final

import msgspec

_UTC = dt.UTC

RFC3339_PATTERN: Final = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})(?!\n)$"
REF_PATTERN: Final = r"^[A-Za-z0-9_.:@\-]{1,128}(?!\n)$"
# Unanchored, for patterns that hold several codes (comma-separated lists in settings).
JURISDICTION_CODE: Final = r"[A-Z]{2}(-[A-Z0-9]{1,3})?"
JURISDICTION_PATTERN: Final = rf"^{JURISDICTION_CODE}(?!\n)$"
RFC3339_TEXT: Final = "RFC 3339 instant with an offset (stored as UTC milliseconds)"
_RFC3339 = re.compile(RFC3339_PATTERN)


class Timestamp(dt.datetime):
    """A UTC instant with millisecond precision (sub-millisecond digits are truncated)."""

    @classmethod
    def of(cls, value: dt.datetime) -> Timestamp:
        """Normalise an aware datetime to UTC milliseconds.

        Raises:
            ValueError: the datetime is naive (no UTC offset).
        """
        if value.tzinfo is None or value.utcoffset() is None:
            msg = "timestamp must carry a UTC offset (e.g. 2024-05-01T12:00:00.000Z)"
            raise ValueError(msg)
        u = value.astimezone(_UTC)
        return cls(
            u.year,
            u.month,
            u.day,
            u.hour,
            u.minute,
            u.second,
            u.microsecond - u.microsecond % 1000,
            tzinfo=_UTC,
        )

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Parse RFC 3339 text (``Z`` or an explicit offset) into a UTC millisecond instant.

        Raises:
            ValueError: the text is not an RFC 3339 timestamp with an offset.
        """
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            msg = f"invalid timestamp {text!r}; expected RFC 3339 like 2024-05-01T12:00:00.000Z"
            raise ValueError(msg) from None
        return cls.of(parsed)

    @classmethod
    def from_epoch_ms(cls, millis: int) -> Timestamp:
        """Build the instant ``millis`` milliseconds after the Unix epoch."""
        return cls.of(dt.datetime.fromtimestamp(millis / 1000, tz=_UTC))

    def canonical(self) -> str:
        """Return the canonical text ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
        return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 - 3x faster than strftime
            self.year, self.month, self.day, self.hour, self.minute, self.second,
            self.microsecond // 1000,
        )  # fmt: skip

    def epoch_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        return int(self.timestamp() * 1000)


class Rfc3339Timestamp(Timestamp):
    """A ``Timestamp`` that arrives as strict RFC 3339 text (``T``, seconds, an offset): the envelope's.

    Payload timestamps stay as lenient as :meth:`Timestamp.parse`; the envelope's wire form is
    pinned so HTTP and NDJSON producers are held to the same text.
    """

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Parse strict RFC 3339 text into a UTC millisecond instant.

        Raises:
            ValueError: the text is not ``YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)``.
        """
        if not _RFC3339.match(text):
            msg = f"invalid timestamp {text!r}; expected RFC 3339 like 2024-05-01T12:00:00.000Z"
            raise ValueError(msg)
        return super().parse(text)


# ISO 4217 minor units for the currencies operators settle in (plus the common crypto
# tickers some MGA/Curaçao operators report as "virtual currency" with 8 decimals).
CURRENCY_SCALE: Final[dict[str, int]] = {
    "EUR": 2,
    "GBP": 2,
    "USD": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "RON": 2,
    "BGN": 2,
    "BRL": 2,
    "MXN": 2,
    "ZAR": 2,
    "INR": 2,
    "TRY": 2,
    "ARS": 2,
    "CLP": 0,
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "JOD": 3,
    "TND": 3,
}

Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}(?!\n)$", description="ISO 4217 code")]


def quantize_amount(amount: Decimal, currency: str) -> Decimal:
    """Return ``amount`` carrying exactly the minor units of ``currency``.

    Raises:
        ValueError: unknown currency, non-finite amount, or more decimals than allowed.
    """
    scale = CURRENCY_SCALE.get(currency)
    if scale is None:
        msg = f"unsupported currency {currency!r}"
        raise ValueError(msg)
    if not amount.is_finite():
        msg = f"amount must be a finite decimal, got {amount}"
        raise ValueError(msg)
    exponent = amount.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and -exponent > scale
        and amount != amount.quantize(Decimal(1).scaleb(-scale))
    ):
        msg = f"{currency} has {scale} decimal places; {amount} has more"
        raise ValueError(msg)
    try:
        return amount.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation:
        msg = f"amount {amount} is out of range"
        raise ValueError(msg) from None


class Money(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An exact amount in one ISO-4217 currency; encodes as ``{"amount":"10.50","currency":"EUR"}``."""

    amount: Decimal
    currency: Currency

    def __post_init__(self) -> None:
        """Normalise the amount to the currency's scale."""
        msgspec.structs.force_setattr(self, "amount", quantize_amount(self.amount, self.currency))

    def __add__(self, other: Money) -> Money:
        """Add two amounts of the same currency."""
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        """Subtract two amounts of the same currency."""
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            msg = f"cannot combine {self.currency} with {other.currency}"
            raise ValueError(msg)


PERSONAL: Final = "personal"

Ref = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=128,
        pattern=REF_PATTERN,
        description="an opaque reference (no spaces)",
    ),
]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+(?!\n)$")]
Sha256Hex = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}(?!\n)$", description="SHA-256, hex")]
Jurisdiction = Annotated[
    str,
    msgspec.Meta(
        pattern=JURISDICTION_PATTERN,
        description="ISO 3166-1 alpha-2, optionally with a subdivision (US-NJ)",
    ),
]
Personal = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=512,
        extra={PERSONAL: True},
        description="personal data: stored only as AES-256-GCM ciphertext",
    ),
]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
Score = Annotated[int, msgspec.Meta(ge=0, le=1000, description="risk score 0-1000")]


def enc_hook(obj: Any) -> Any:
    """Encode the custom value types (``Timestamp``) for msgspec."""
    if isinstance(obj, Timestamp):
        return obj.canonical()
    msg = f"cannot encode {type(obj).__name__}"
    raise NotImplementedError(msg)


def dec_hook(kind: type, obj: Any) -> Any:
    """Decode the custom value types (``Timestamp`` and its strict wire form) for msgspec."""
    if kind is Timestamp or kind is Rfc3339Timestamp:
        if isinstance(obj, str):
            return kind.parse(obj)
        if isinstance(obj, dt.datetime):
            return kind.of(obj)
        msg = "expected an RFC 3339 timestamp string"
        raise ValueError(msg)
    msg = f"cannot decode {kind.__name__}"
    raise NotImplementedError(msg)


def schema_hook(kind: type) -> dict[str, Any]:
    """JSON Schema for the custom value types."""
    if kind is Timestamp:
        return {"type": "string", "format": "date-time", "description": "UTC, milliseconds"}
    if kind is Rfc3339Timestamp:
        return {
            "type": "string",
            "format": "date-time",
            "pattern": RFC3339_PATTERN,
            "description": RFC3339_TEXT,
        }
    msg = f"no schema for {kind.__name__}"
    raise NotImplementedError(msg)
