"""audit-ledger core: event catalogue, canonical encoding, hash chains and the append service.

This package is pure: it imports only the standard library and msgspec. Storage, keys,
clocks and the network reach it through the Protocols in :mod:`ledger.ports`.
"""
