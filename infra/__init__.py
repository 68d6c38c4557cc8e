"""Adapters: storage, keys, settings, composition root and the CLI (the only layer that touches I/O)."""
