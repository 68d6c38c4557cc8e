"""What every PostgreSQL adapter shares: the one lock all schema DDL takes."""

from __future__ import annotations

# Concurrent CREATE … IF NOT EXISTS races on the catalog: every adapter's DDL holds this lock.
DDL_LOCK = "SELECT pg_advisory_xact_lock(hashtext('audit-ledger:ddl'))"
