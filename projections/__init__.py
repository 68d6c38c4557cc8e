"""Read models rebuilt from the event log (see the projections issue)."""
