"""Encrypting personal fields (PII): only ciphertext under a per-subject key enters hashed bytes.

An encrypted field is stored as ``{"ct":…,"key":…,"nonce":…,"sealed":"aes-256-gcm/v1"}``; the
associated data binds it to its event id and field name, so a ciphertext cannot be moved to
another event or field. Destroying the subject's key (erasure) leaves the bytes, and so every
hash and proof, unchanged; reads then show the field as erased.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final
from uuid import UUID

from ledger.catalogue.registry import EventType
from ledger.ports import FieldCipher

# The stored marker keeps its key ``"sealed"`` and this value: they are in hashed bytes.
ENCRYPTED: Final = "aes-256-gcm/v1"
ERASED: Final = {"erased": True}


def aad(event_id: UUID, field: str) -> bytes:
    """Associated data binding an encrypted value to its event and field."""
    return f"{event_id}/{field}".encode()


def encrypt_payloads(cipher: FieldCipher, items: Sequence[tuple[EventType, UUID, dict[str, Any]]]) -> None:
    """Replace, in place, every personal field of each payload by its encrypted form.

    Raises:
        PolicyViolationError: from the cipher, for a subject that was erased.
    """
    wanted: list[tuple[str, bytes, bytes]] = []
    places: list[tuple[dict[str, Any], str]] = []
    for etype, event_id, payload in items:
        subject = str(payload.get(etype.subject or "", ""))
        for name in etype.personal:
            value = payload.get(name)
            if value is not None:
                wanted.append((subject, aad(event_id, name), str(value).encode()))
                places.append((payload, name))
    if not wanted:
        return
    for (payload, name), (key, nonce, ct) in zip(places, cipher.encrypt(wanted), strict=True):
        payload[name] = {"ct": ct, "key": key, "nonce": nonce, "sealed": ENCRYPTED}


def decrypt_payload(
    cipher: FieldCipher, etype: EventType, event_id: UUID, payload: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Return a copy of ``payload`` with encrypted fields decrypted, and the names found erased."""
    subject = str(payload.get(etype.subject or "", ""))
    encrypted = [
        (name, value)
        for name in etype.personal
        if isinstance(value := payload.get(name), dict) and value.get("sealed") == ENCRYPTED
    ]
    if not encrypted:
        return payload, []
    opened = cipher.decrypt(
        [(subject, v["key"], v["nonce"], v["ct"], aad(event_id, n)) for n, v in encrypted]
    )
    out = dict(payload)
    erased: list[str] = []
    for (name, _), plain in zip(encrypted, opened, strict=True):
        if plain is None:
            out[name] = ERASED
            erased.append(name)
        else:
            out[name] = plain.decode()
    return out, erased
