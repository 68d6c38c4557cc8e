"""The audit system audits its own use: every regulator/auditor read and every export.

The API appends one ``access.recorded`` per such request on stream ``Access:<subject>``, so
who looked at what (and under which role and trace) is itself chained, sealed and proven.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ledger.catalogue.registry import Payload, event
from ledger.catalogue.types import Code, Ref, Text

HttpStatus = Annotated[int, msgspec.Meta(ge=100, le=599)]


@event("access.recorded", entities=("Access",))
class AccessRecorded(Payload, frozen=True, kw_only=True):
    """A token holder read ledger data or exported evidence through the API."""

    subject: Ref
    role: Code
    method: Literal["GET", "POST", "HEAD"]
    route: Text
    path: Text
    query: dict[str, Text] = msgspec.field(default_factory=dict)
    status: HttpStatus
    client: Text | None = None
    sandbox: bool = False
