"""The event catalogue: every event type the platform records, per domain, as typed payloads.

``CATALOGUE`` is the schema registry; ``ledger catalogue`` prints it.
"""

from __future__ import annotations

from ledger.catalogue import access, admin, aml, anchoring, bonus, incidents, kyc, payments, rg, rounds
from ledger.catalogue.registry import Catalogue, EventType, Payload, build

CATALOGUE: Catalogue = build([payments, rounds, kyc, aml, bonus, rg, admin, incidents, anchoring, access])

__all__ = ["CATALOGUE", "Catalogue", "EventType", "Payload"]
