"""Canonical, versioned bytes of an event: what the hash chain and the Merkle log commit to.

Record format v1 (``RECORD_VERSION``), one JSON object, UTF-8, no whitespace, keys sorted
by code point at every level::

    {"event":<content>,"ledger":{"position":P,"prev_hash":"<hex>","recorded_at":"<ts>",
     "stream_position":S},"v":1}

``content`` is what the producer submitted, after validation and PII sealing::

    {"actor":{"id":…,"kind":…},"event_id":"<uuid>","jurisdiction":…,"occurred_at":"<ts>",
     "payload":{…},"schema_version":N,"stream":…,"trace_id":…,"type":…}

Decimals are exact strings (money carries its currency's scale), timestamps are
``YYYY-MM-DDTHH:MM:SS.mmmZ``, UUIDs lower-case hyphenated, absent optional fields ``null``.
Golden vectors in ``tests/vectors/`` pin these bytes; never change them, add a version.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

import msgspec

from ledger.catalogue.types import enc_hook

RECORD_VERSION: Final = 1

_encoder = msgspec.json.Encoder(enc_hook=enc_hook, order="sorted", decimal_format="string")


class LedgerFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The fields the ledger assigns when it appends an event."""

    position: int
    prev_hash: str
    recorded_at: str
    stream_position: int


class Record(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A stored record with its content kept as the exact bytes that were hashed."""

    event: msgspec.Raw
    ledger: LedgerFields
    v: int


class ActorView(msgspec.Struct, frozen=True):
    """The actor as recorded."""

    id: str
    kind: str


class Content(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The recorded content of an event, payload still sealed and in its stored version."""

    actor: ActorView
    event_id: UUID
    jurisdiction: str
    occurred_at: str
    payload: dict[str, Any]
    schema_version: int
    stream: str
    trace_id: str
    type: str


class TypedRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Record v1 decoded in one pass with its content typed: for readers that need every field.

    As strict as :func:`decode_record` followed by :func:`decode_content`, in one decode.
    """

    event: Content
    ledger: LedgerFields
    v: int


_typed_record_decoder = msgspec.json.Decoder(TypedRecord)


def decode_typed_record(data: bytes) -> TypedRecord:
    """Decode stored record bytes, content typed, in one pass (``msgspec.DecodeError`` if malformed)."""
    return _typed_record_decoder.decode(data)


_record_decoder = msgspec.json.Decoder(Record)
_content_decoder = msgspec.json.Decoder(Content)


def canonical(value: Any) -> bytes:
    """Encode builtins/Structs canonically (sorted keys, no whitespace, exact decimals)."""
    return _encoder.encode(value)


def content_bytes(content: dict[str, Any]) -> bytes:
    """Canonical bytes of an event's content (see module docstring for the shape)."""
    return _encoder.encode(content)


def record_bytes(
    content: bytes, *, position: int, stream_position: int, prev_hash: bytes, recorded_at: str
) -> bytes:
    """Assemble record v1 around already-canonical ``content`` bytes.

    Equal to ``canonical()`` of the decoded record: the keys are written in sorted order.
    """
    return (
        b'{"event":%b,"ledger":{"position":%d,"prev_hash":"%b","recorded_at":"%b","stream_position":%d},"v":1}'
        % (
            content,
            position,
            prev_hash.hex().encode(),
            recorded_at.encode(),
            stream_position,
        )
    )


def decode_record(data: bytes) -> Record:
    """Decode stored record bytes (raises ``msgspec.DecodeError`` on anything malformed)."""
    return _record_decoder.decode(data)


def decode_content(raw: bytes) -> Content:
    """Decode the content part of a record."""
    return _content_decoder.decode(raw)


# --- partial record views ---------------------------------------------------------------------
# Narrow decoders of record v1 for readers that need one or two fields of many records fast.
# They live here, beside ``Record`` and ``Content``, so a new record version or a renamed
# envelope field is changed in one file; tests/unit/test_record_views.py pins each view's
# strictness against ``decode_record``/``decode_content``.


class ContentKeys(msgspec.Struct):
    """The content's event id and stream only, as text.

    For whole-log verification (``ledger.verify.chain``), which compares them with the
    stored columns; looser than ``Content`` on purpose: the other fields are not its check.
    """

    event_id: str
    stream: str


class ContentStream(msgspec.Struct):
    """The content's stream only: the exporter and the bundle builder and checker group by it."""

    stream: str


class ContentType(msgspec.Struct):
    """The content's event type only: the sealer counts producer events by it, the log scan filters by it."""

    type: str


class AnchorPayloadView(msgspec.Struct):
    """The fields of an ``anchor.written`` payload that the bundle checker compares with the note."""

    checkpoint_hash: str
    checkpoint_size: int
    object_sha256: str
    store: str


class AnchorContentView(msgspec.Struct):
    """An ``anchor.written`` content as the bundle checker reads it: type, stream, ``AnchorPayloadView``."""

    payload: AnchorPayloadView
    stream: str
    type: str


class BulkLedger(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``Ledger`` without the frozen/GC overhead: the ledger fields of one record in a bulk span."""

    position: int
    prev_hash: str
    recorded_at: str
    stream_position: int


class BulkRecord(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """Record v1 read exactly as strictly as ``decode_record`` then ``ContentKeys``, in one pass.

    For whole-log verification's bulk path (``ledger.verify.chain``): one decode per record,
    no ``Raw`` copy of the content, no GC tracking.
    """

    event: ContentKeys
    ledger: BulkLedger
    v: int


decode_content_keys = msgspec.json.Decoder(ContentKeys).decode
decode_content_stream = msgspec.json.Decoder(ContentStream).decode
decode_content_type = msgspec.json.Decoder(ContentType).decode
decode_anchor_content = msgspec.json.Decoder(AnchorContentView).decode
decode_bulk_record = msgspec.json.Decoder(BulkRecord).decode
