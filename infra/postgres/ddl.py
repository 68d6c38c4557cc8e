"""What every PostgreSQL adapter shares: the one lock all schema DDL takes, one-line driver messages."""

from __future__ import annotations

# Concurrent CREATE … IF NOT EXISTS races on the catalog: every adapter's DDL holds this lock.
DDL_LOCK = "SELECT pg_advisory_xact_lock(hashtext('audit-ledger:ddl'))"


def one_line(e: BaseException) -> str:
    """A driver's message on one line (the server adds ``LINE 1: …`` and a caret on lines below)."""
    return " ".join(str(e).split())
