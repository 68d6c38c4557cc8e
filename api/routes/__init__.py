"""Controllers per audience: ingest, regulator, disputes, compliance, auditors, operations."""
