"""Back-office administration and security: logins, roles, privilege escalation, exports."""

from __future__ import annotations

from typing import Literal

from ledger.catalogue.registry import Payload, event
from ledger.catalogue.types import Code, NonNegativeInt, Personal, Ref, Sha256Hex, Text, Timestamp


@event("admin.logged_in", entities=("Operator",), subject="user_id")
class AdminLoggedIn(Payload, frozen=True, kw_only=True):
    """A back-office user attempted to log in (IP address sealed)."""

    user_id: Ref
    method: Literal["password", "sso", "certificate", "api_key"]
    ip_address: Personal
    success: bool
    mfa: bool
    failure_reason: Code | None = None
    user_agent: Text | None = None


@event("admin.role_granted", entities=("Operator",))
class AdminRoleGranted(Payload, frozen=True, kw_only=True):
    """A role was granted to a back-office user."""

    user_id: Ref
    role: Code
    granted_by: Ref
    reason: Text | None = None
    expires_at: Timestamp | None = None


@event("admin.role_revoked", entities=("Operator",))
class AdminRoleRevoked(Payload, frozen=True, kw_only=True):
    """A role was revoked from a back-office user."""

    user_id: Ref
    role: Code
    revoked_by: Ref
    reason: Text | None = None


@event("admin.privilege_escalated", entities=("Operator",))
class AdminPrivilegeEscalated(Payload, frozen=True, kw_only=True):
    """A user temporarily acted with a more privileged role (break-glass)."""

    user_id: Ref
    from_role: Code
    to_role: Code
    reason: Text
    expires_at: Timestamp
    approved_by: Ref | None = None
    ticket_ref: Ref | None = None


@event("admin.data_exported", entities=("Operator",))
class AdminDataExported(Payload, frozen=True, kw_only=True):
    """A user exported a dataset out of the platform."""

    user_id: Ref
    export_id: Ref
    dataset: Code
    record_count: NonNegativeInt
    purpose: Text
    destination: Text
    file_sha256: Sha256Hex | None = None
