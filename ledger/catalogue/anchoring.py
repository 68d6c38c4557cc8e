"""The ledger's own operations: checkpoints anchored in WORM storage.

Anchor receipts are appended back to the ledger on stream ``Anchor:<store>``, so the
anchoring history is itself chained, sealed under later checkpoints and proven. The type
and stream names are declared here once, for the sealer, the exporter, the bundle checker
and the API's gauges.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

import msgspec

from ledger.catalogue.registry import Payload, event
from ledger.catalogue.types import Code, NonNegativeInt, Sha256Hex, Text, Timestamp

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
WormKind = Literal["local", "s3"]
"""The WORM stores a checkpoint can be anchored in (``WormStore.kind``)."""

ANCHOR_TYPE: Final = "anchor.written"
ANCHOR_ENTITY: Final = "Anchor"


def anchor_stream(store: str) -> str:
    """Return the stream of the anchors written to WORM store ``store``: ``Anchor:<store>``."""
    return f"{ANCHOR_ENTITY}:{store}"


ANCHOR_STREAMS: Final = tuple(anchor_stream(store) for store in get_args(WormKind))
"""Every anchor stream, one per WORM store kind."""


@event(ANCHOR_TYPE, entities=(ANCHOR_ENTITY,))
class AnchorWritten(Payload, frozen=True, kw_only=True):
    """A signed checkpoint was written, create-only, to WORM storage and read back."""

    checkpoint_size: PositiveInt
    checkpoint_hash: Sha256Hex
    batch_first: NonNegativeInt
    store: WormKind
    key: Text
    version_id: Text | None = None
    etag: Text | None = None
    object_sha256: Sha256Hex
    mode: Code | None = None
    retain_until: Timestamp
    retention_category: Code
    retention_policy: Code
