"""Personal fields: sealed at rest, readable in history, erasable without breaking any chain."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from uuid import UUID

import psycopg
import pytest

from infra.backend import Backend
from infra.postgres import PostgresBackend
from infra.sqlite import SqliteBackend
from ledger.application import Ledger
from ledger.encoding import decode_content, decode_record
from ledger.errors import ConflictError, PolicyViolationError, VerificationError
from ledger.pii import ENCRYPTED, ERASED, aad
from ledger.ports import FieldCipher
from ledger.verify import iter_store, verify_log
from tests.conftest import FixedClock
from tests.factories import Events

CipherFactory = Callable[[], FieldCipher]

PEOPLE = {
    "plr-1": ("Maria Rossi", "1990-04-12"),
    "plr-2": ("Jānis Bērziņš", "1985-11-30"),
    "plr-3": ("Ólafur Þórsson", "2001-02-03"),
}


def raw_states(backend: Backend) -> list[bytes]:
    """Every stored ``state`` column, read with raw SQL in position order."""
    if isinstance(backend, SqliteBackend):
        with sqlite3.connect(backend.path) as db:
            return [bytes(s) for (s,) in db.execute("SELECT state FROM ledger_events ORDER BY rowid")]
    assert isinstance(backend, PostgresBackend)
    with psycopg.connect(backend.dsn) as conn:
        q = f'SELECT state FROM "{backend.schema}".ledger_events ORDER BY notification_id'
        rows = conn.execute(q).fetchall()
    return [bytes(s) for (s,) in rows]


def kyc_for_all(ev: Events) -> list[dict[str, object]]:
    return [ev.kyc_started(p, full_name=n, date_of_birth=d) for p, (n, d) in PEOPLE.items()]


def test_stored_bytes_never_hold_plaintext_but_history_does(ledger: Ledger, backend: Backend) -> None:
    ev = Events()
    ledger.append(kyc_for_all(ev))

    states = raw_states(backend)

    assert len(states) == len(PEOPLE)
    for name, dob in PEOPLE.values():
        for secret in (name, dob):
            assert not any(secret.encode() in s for s in states), secret
            assert not any(base64.b64encode(secret.encode()) in s for s in states), secret
    for state in states:
        payload = decode_content(decode_record(state).event).payload
        for field in ("full_name", "date_of_birth"):
            assert set(payload[field]) == {"ct", "key", "nonce", "sealed"}
            assert payload[field]["sealed"] == ENCRYPTED
        assert payload["full_name"]["key"] == payload["date_of_birth"]["key"]
    for player, (name, dob) in PEOPLE.items():
        [event] = ledger.history(f"Player:{player}")
        assert (event.payload["full_name"], event.payload["date_of_birth"]) == (name, dob)
        assert event.payload["player_ref"] == player
        assert event.erased_fields == []


def test_each_subject_has_its_own_key(ledger: Ledger, backend: Backend) -> None:
    ledger.append(kyc_for_all(Events()))

    keys = {decode_content(decode_record(s).event).payload["full_name"]["key"] for s in raw_states(backend)}

    assert len(keys) == len(PEOPLE)


def test_resubmitting_a_sealed_event_is_a_duplicate(
    ledger: Ledger, make_cipher: CipherFactory, backend: Backend
) -> None:
    ev = Events()
    event = ev.kyc_started("plr-1")
    [first] = ledger.append([event])
    size = ledger.store.size()

    [again] = ledger.append([event])
    cipher = make_cipher()
    try:
        [from_fresh_cipher] = Ledger(ledger.store, cipher, FixedClock(), group_commit=False).append([event])
    finally:
        cipher.close()

    assert again.duplicate
    assert from_fresh_cipher.duplicate
    assert again.hash == from_fresh_cipher.hash == first.hash
    assert ledger.store.size() == size
    assert len(raw_states(backend)) == 1
    with pytest.raises(ConflictError) as err:
        ledger.append([{**event, "payload": {**event["payload"], "full_name": "Mario Rossi"}}])
    assert err.value.field == "events[0].event_id"


def test_erasing_a_subject_hides_only_its_personal_fields_and_keeps_every_hash(
    ledger: Ledger, backend: Backend
) -> None:
    ev = Events()
    receipts = ledger.append(
        [*kyc_for_all(ev), ev.kyc_decided("plr-1"), ev.kyc_started("plr-1", full_name="M. R.")]
    )
    states = raw_states(backend)

    assert ledger.erase_subject("plr-1")

    started, decided, restarted = ledger.history("Player:plr-1")
    for event in (started, restarted):
        assert event.payload["full_name"] == ERASED == {"erased": True}
        assert event.payload["date_of_birth"] == {"erased": True}
        assert event.erased_fields == ["full_name", "date_of_birth"]
        assert (event.payload["player_ref"], event.payload["provider"]) == ("plr-1", "onfido")
    assert decided.erased_fields == []
    assert decided.payload["kyc_status"] == "pass"
    for player in ("plr-2", "plr-3"):
        [event] = ledger.history(f"Player:{player}")
        assert (event.payload["full_name"], event.payload["date_of_birth"]) == PEOPLE[player]
    assert raw_states(backend) == states
    assert [e.hash for e in ledger.read(0, 100)] == [r.hash for r in receipts]
    assert verify_log(iter_store(ledger.store.read), ledger.store.heads()).events == len(receipts)
    assert not ledger.erase_subject("plr-1")


def test_an_erased_subject_gets_no_new_personal_data(ledger: Ledger) -> None:
    ev = Events()
    ledger.append([ev.kyc_started("plr-1"), ev.kyc_started("plr-2")])
    ledger.erase_subject("plr-1")
    size = ledger.store.size()

    with pytest.raises(PolicyViolationError):
        ledger.append([ev.kyc_started("plr-2", full_name="Someone Else"), ev.kyc_started("plr-1")])

    assert ledger.store.size() == size
    [decided] = ledger.append([ev.kyc_decided("plr-1", status="fail")])
    assert (decided.stream, decided.stream_position) == ("Player:plr-1", 1)


def test_an_altered_or_moved_ciphertext_does_not_open(make_cipher: CipherFactory) -> None:
    cipher = make_cipher()
    try:
        place = aad(UUID(Events().next_id()), "full_name")
        [(key, nonce, ct)] = cipher.encrypt([("plr-1", place, b"Maria Rossi")])
        raw = bytearray(base64.b64decode(ct))
        raw[3] ^= 0x01
        altered = base64.b64encode(bytes(raw)).decode()

        assert cipher.decrypt([("plr-1", key, nonce, ct, place)]) == [b"Maria Rossi"]
        with pytest.raises(VerificationError):
            cipher.decrypt([("plr-1", key, nonce, altered, place)])
        with pytest.raises(VerificationError):
            cipher.decrypt([("plr-1", key, nonce, ct, place.replace(b"full_name", b"date_of_birth"))])
        assert cipher.encrypt([("plr-1", place, b"Maria Rossi")]) == [(key, nonce, ct)]
        assert cipher.encrypt([("plr-1", place, b"Maria Rossa")])[0][1] != nonce
    finally:
        cipher.close()
