"""The ledger's own operations: checkpoints anchored in WORM storage.

Anchor receipts are appended back to the ledger on stream ``Anchor:<store>``, so the
anchoring history is itself chained, sealed under later checkpoints and proven.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ledger.catalogue.registry import Payload, event
from ledger.catalogue.types import Code, NonNegativeInt, Sha256Hex, Text, Timestamp

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]


@event("anchor.written", entities=("Anchor",))
class AnchorWritten(Payload, frozen=True, kw_only=True):
    """A signed checkpoint was written, create-only, to WORM storage and read back."""

    checkpoint_size: PositiveInt
    checkpoint_hash: Sha256Hex
    batch_first: NonNegativeInt
    store: Literal["local", "s3"]
    key: Text
    version_id: Text | None = None
    etag: Text | None = None
    object_sha256: Sha256Hex
    mode: Code | None = None
    retain_until: Timestamp
    retention_category: Code
    retention_policy: Code
