"""Versioned policy data and pure decision functions (RBAC, retention, AML/incident rules)."""
