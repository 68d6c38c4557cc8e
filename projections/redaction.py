"""Sealed fields in views: projections fold ``ledger.event.ReadEvent`` decoded sealed, never opened.

Projections never open sealed fields: a view must be answerable without plaintext personal
data (it refers to subjects by their references), and erasure must not change a view.
"""

from __future__ import annotations

from typing import Any

from ledger.pii import ENCRYPTED

SEALED_MARK = "[sealed]"


def redacted(payload: dict[str, Any]) -> dict[str, Any]:
    """Return ``payload`` with every sealed field replaced by ``SEALED_MARK`` (no ciphertext in views)."""
    if not any(isinstance(v, dict) and v.get("sealed") == ENCRYPTED for v in payload.values()):
        return payload
    return {
        k: SEALED_MARK if isinstance(v, dict) and v.get("sealed") == ENCRYPTED else v
        for k, v in payload.items()
    }
