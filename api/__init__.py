"""The Litestar HTTP API (see the API issue)."""
