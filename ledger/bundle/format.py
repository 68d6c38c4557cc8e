"""Evidence bundle format v1 in code: member names and paths, member schemas, located faults.

``docs/bundle-format.md`` specifies the format; this module is its one declaration, which
``ledger.bundle.build`` writes and ``ledger.bundle.check`` verifies.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

import msgspec

from ledger.encoding import canonical
from ledger.errors import LocatedError, Where

FORMAT: Final = "audit-ledger-bundle/v1"
MANIFEST: Final = "bundle.json"
EVENTS: Final = "events.ndjson"
CHAINS: Final = "chains.json"
KEYRING: Final = "keys/public.txt"
MEMBER_NAME: Final = re.compile(
    r"(?:(?P<record>records/(?P<rp>[0-9]{20})\.bin)|(?P<note>checkpoints/(?P<cs>[0-9]{20})\.note)"
    r"|(?P<incl>proofs/inclusion/(?P<ip>[0-9]{20})\.json)"
    r"|(?P<cons>proofs/consistency/(?P<ca>[0-9]{20})-(?P<cb>[0-9]{20})\.json)"
    r"|(?P<rcpt>receipts/(?P<rs>[0-9]{20})\.json)|events\.ndjson|chains\.json|keys/public\.txt)"
)
# msgspec patterns are searched, and "$" would accept a trailing newline: anchor with \A…\Z.
_TIMESTAMP = r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z"

Hex = Annotated[str, msgspec.Meta(pattern=r"\A[0-9a-f]{64}\Z")]
Count = Annotated[int, msgspec.Meta(ge=0)]
Size = Annotated[int, msgspec.Meta(ge=1)]


class Scope(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the bundle was exported for, and the sealed positions that selection matched."""

    kind: Literal["stream", "round", "range"]
    value: str
    positions: list[Count]


class Counts(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How many of each thing the bundle holds."""

    checkpoints: Count
    events: Count
    receipts: Count
    streams: Count


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``bundle.json``."""

    checkpoint_size: Size
    counts: Counts
    created_at: Annotated[str, msgspec.Meta(pattern=_TIMESTAMP)]
    digest: Hex
    files: dict[str, Hex]
    format: str
    origin: str
    scope: Scope


class Chain(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One entry of ``chains.json``: a stream from genesis to its head under the latest checkpoint."""

    head_hash: Hex
    positions: list[Count]
    stream: str


class InclusionFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``proofs/inclusion/<position>.json`` (RFC 9162 §2.1.3)."""

    audit_path: list[Hex]
    leaf_index: Count
    tree_size: Size


class ConsistencyFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``proofs/consistency/<first>-<second>.json`` (RFC 9162 §2.1.4)."""

    consistency_path: list[Hex]
    first: Size
    second: Size


class AnchorProof(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A WORM anchor receipt: the ``anchor.written`` record itself, proven in the log.

    ``anchor`` is the exact stored record bytes (embedded as JSON); ``inclusion`` proves
    them, as leaf ``anchor.ledger.position``, under a checkpoint of the bundle.
    """

    anchor: msgspec.Raw
    inclusion: InclusionFile


class ReceiptsFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``receipts/<size>.json``: the proven anchor receipts of one checkpoint."""

    checkpoint_size: Size
    receipts: list[AnchorProof]


class EventLine(msgspec.Struct, frozen=True):
    """One line of ``events.ndjson``; ``record`` is the record bytes, embedded as JSON."""

    hash: str
    position: int
    record: msgspec.Raw
    stream: str
    stream_position: int


class BundleError(LocatedError):
    """The first fault in a bundle, located: file, event position, stream, checkpoint size."""

    located = ("file", "position", "stream", "checkpoint")


# --- paths ---------------------------------------------------------------------------------


def record_path(position: int) -> str:
    """``records/<position, 20 digits>.bin``."""
    return f"records/{position:020d}.bin"


def note_path(size: int) -> str:
    """``checkpoints/<size, 20 digits>.note``."""
    return f"checkpoints/{size:020d}.note"


def inclusion_path(position: int) -> str:
    """``proofs/inclusion/<position, 20 digits>.json``."""
    return f"proofs/inclusion/{position:020d}.json"


def consistency_path(first: int, second: int) -> str:
    """``proofs/consistency/<first>-<second>.json`` (20 digits each)."""
    return f"proofs/consistency/{first:020d}-{second:020d}.json"


def receipts_path(size: int) -> str:
    """``receipts/<size, 20 digits>.json``."""
    return f"receipts/{size:020d}.json"


def locate(name: str) -> Where:
    """Locate a member by its name: the event position or checkpoint size it is about."""
    m = MEMBER_NAME.fullmatch(name)
    if m is None:
        return Where(name)
    if (p := m["rp"] or m["ip"]) is not None:
        return Where(name, position=int(p))
    if (s := m["cs"] or m["rs"] or m["ca"]) is not None:
        return Where(name, checkpoint=int(s))
    return Where(name)


def event_line(position: int, stream: str, stream_position: int, h: bytes, data: bytes) -> bytes:
    """One ``events.ndjson`` line: the record at ``position`` with its stream, stream position and hash."""
    line = EventLine(
        hash=h.hex(),
        position=position,
        record=msgspec.Raw(data),
        stream=stream,
        stream_position=stream_position,
    )
    return canonical(line) + b"\n"
