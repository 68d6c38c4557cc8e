"""Who may call which API route: the role → route matrix, versioned data plus one pure function.

Routes are ``"<METHOD> <path template>"`` exactly as the API declares them. A route absent
from :data:`MATRIX` and from :data:`PUBLIC` is denied to everyone (deny by default), and
``tests/api/test_rbac.py`` walks every route of the app against every role. Every decision
carries :data:`POLICY_VERSION`; a change of the matrix is a new version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import msgspec

POLICY_VERSION: Final = "rbac-2026.2"

SERVICE_WRITER: Final = "service_writer"
REGULATOR: Final = "regulator_read"
DISPUTE: Final = "dispute_handler"
COMPLIANCE: Final = "compliance_officer"
AUDITOR: Final = "auditor"
ADMIN: Final = "admin"

ROLES: Final[tuple[str, ...]] = (SERVICE_WRITER, REGULATOR, DISPUTE, COMPLIANCE, AUDITOR, ADMIN)

PUBLIC: Final[frozenset[str]] = frozenset({"GET /health", "GET /ready", "GET /metrics"})
"""Operations routes: no token needed (they reveal no ledger data)."""

_REGULATOR_ROUTES: Final = (
    "GET {base}/audit",
    "GET {base}/player/{{player_ref}}",
    "GET {base}/logs/{{event_type}}",
    "GET {base}/reports/mga/compliance",
)

MATRIX: Final[Mapping[str, frozenset[str]]] = {
    "POST /v1/events": frozenset({SERVICE_WRITER}),
    "GET /v1/events/{event_id}": frozenset({SERVICE_WRITER, AUDITOR}),
    **{r.format(base="/regulator"): frozenset({REGULATOR}) for r in _REGULATOR_ROUTES},
    **{r.format(base="/sandbox/regulator"): frozenset({REGULATOR}) for r in _REGULATOR_ROUTES},
    "GET /rounds/{round_id}": frozenset({DISPUTE}),
    "GET /rounds/{round_id}/bundle": frozenset({DISPUTE}),
    "GET /cases/{case_id}": frozenset({COMPLIANCE}),
    "GET /players/{player_ref}": frozenset({COMPLIANCE}),
    "GET /ledger/checkpoints/latest": frozenset({AUDITOR}),
    "GET /ledger/checkpoints/{size}": frozenset({AUDITOR}),
    "GET /ledger/proofs/inclusion": frozenset({AUDITOR}),
    "GET /ledger/proofs/consistency": frozenset({AUDITOR}),
    "GET /ledger/export": frozenset({AUDITOR}),
    "GET /ledger/verification": frozenset({AUDITOR, ADMIN}),
    "POST /admin/seal": frozenset({ADMIN}),
    "POST /admin/verification": frozenset({ADMIN}),
}

AUDITED: Final[frozenset[str]] = frozenset(
    r
    for r, roles in MATRIX.items()
    if roles & {REGULATOR, DISPUTE, COMPLIANCE, AUDITOR} and not r.startswith("POST /v1/")
)
"""Reads whose every call is recorded in the ledger itself (``access.recorded``)."""


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one authorisation check, with the policy version that made it."""

    allowed: bool
    route: str
    roles: tuple[str, ...]
    reason: str
    policy_version: str = POLICY_VERSION


def decide(roles: Iterable[str], route: str) -> Decision:
    """Return whether a caller holding ``roles`` may call ``route`` (deny by default)."""
    held = tuple(sorted(set(roles)))
    if route in PUBLIC:
        return Decision(allowed=True, route=route, roles=held, reason="public route")
    allowed_roles = MATRIX.get(route)
    if allowed_roles is None:
        return Decision(allowed=False, route=route, roles=held, reason="route not in the policy")
    granted = sorted(allowed_roles.intersection(held))
    if granted:
        return Decision(allowed=True, route=route, roles=held, reason=f"granted to {granted[0]}")
    need = ", ".join(sorted(allowed_roles))
    return Decision(allowed=False, route=route, roles=held, reason=f"requires one of: {need}")
