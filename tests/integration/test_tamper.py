"""Tampering with the database behind the ledger's back is detected and located by verify_log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
import pytest

from infra.backend import Backend
from infra.postgres import PostgresBackend
from infra.sqlite import SqliteBackend
from ledger.application import Ledger
from ledger.chain import event_hash
from ledger.encoding import decode_record
from ledger.errors import ChainError
from ledger.event import Receipt
from ledger.ports import EventStore
from ledger.verify import Report, iter_store, verify_log
from tests.factories import Events, realistic

EVENTS, STREAMS = 300, 20


class RawDb:
    """Raw SQL on the backend's tables, bypassing the store (the attacker's view)."""

    def __init__(self, backend: Backend) -> None:
        self.sqlite = isinstance(backend, SqliteBackend)
        self._conn: sqlite3.Connection | psycopg.Connection[Any]
        if isinstance(backend, SqliteBackend):
            self._conn = sqlite3.connect(backend.path, isolation_level=None)
            self.names = {"events": "ledger_events", "heads": "ledger_heads", "nid": "rowid"}
        else:
            assert isinstance(backend, PostgresBackend)
            schema = backend.schema
            self._conn = psycopg.connect(backend.dsn, autocommit=True)
            self.names = {
                "events": f'"{schema}".ledger_events',
                "heads": f'"{schema}".ledger_heads',
                "nid": "notification_id",
            }

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` ({events}, {heads}, {nid} filled in; ``?`` placeholders) and return rows."""
        text = sql.format(**self.names)
        if self.sqlite:
            assert isinstance(self._conn, sqlite3.Connection)
            return self._conn.execute(text, params).fetchall()
        assert isinstance(self._conn, psycopg.Connection)
        cur = self._conn.execute(text.replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []

    def uuid(self, value: UUID) -> bytes | UUID:
        """``value`` as the event_id column stores it."""
        return value.bytes if self.sqlite else value

    def state(self, position: int) -> bytes:
        [(state,)] = self.run("SELECT state FROM {events} WHERE {nid} = ?", (position + 1,))
        return bytes(state)

    def set_state(self, position: int, state: bytes) -> None:
        self.run("UPDATE {events} SET state = ? WHERE {nid} = ?", (state, position + 1))

    def close(self) -> None:
        self._conn.close()


@dataclass
class Populated:
    ledger: Ledger
    receipts: list[Receipt]
    db: RawDb

    @property
    def store(self) -> EventStore:
        return self.ledger.store

    def stream_of(self, position: int) -> list[Receipt]:
        stream = self.receipts[position].stream
        return [r for r in self.receipts if r.stream == stream]

    def successor(self, position: int) -> Receipt:
        stream = self.stream_of(position)
        return next(r for r in stream if r.position > position)


def verify(store: EventStore) -> Report:
    return verify_log(iter_store(store.read, chunk=64), store.heads())


def fault(store: EventStore) -> ChainError:
    with pytest.raises(ChainError) as err:
        verify(store)
    return err.value


@pytest.fixture
def populated(ledger: Ledger, backend: Backend) -> Iterator[Populated]:
    """A few hundred realistic events over 20 streams, verified clean before each tamper."""
    events = realistic(Events(), EVENTS, STREAMS)
    receipts: list[Receipt] = []
    for i in range(0, EVENTS, 30):
        receipts += ledger.append(events[i : i + 30])
    assert [r.position for r in receipts] == list(range(EVENTS))
    report = verify(ledger.store)
    assert (report.events, report.streams) == (EVENTS, STREAMS)
    db = RawDb(backend)
    yield Populated(ledger, receipts, db)
    db.close()


def flip_trace_id_digit(state: bytes) -> bytes:
    """Change one byte inside the content while keeping the record well-formed JSON."""
    at = state.index(b'"trace_id":"') + len(b'"trace_id":"')
    digit = b"1" if state[at : at + 1] != b"1" else b"2"
    return state[:at] + digit + state[at + 1 :]


def test_a_changed_byte_in_a_middle_event_is_located_at_its_successor(populated: Populated) -> None:
    middle = populated.receipts[150]
    successor = populated.successor(150)
    original = populated.db.state(150)
    tampered = flip_trace_id_digit(original)
    assert len(tampered) == len(original)
    assert sum(a != b for a, b in zip(tampered, original, strict=True)) == 1
    populated.db.set_state(150, tampered)

    err = fault(populated.store)

    assert (err.position, err.stream, err.stream_position) == (
        successor.position,
        middle.stream,
        successor.stream_position,
    )
    prev = bytes.fromhex(decode_record(original).ledger.prev_hash)
    assert (err.expected, err.found) == (event_hash(prev, tampered).hex(), middle.hash)
    assert f"stream {middle.stream} position {successor.stream_position}" in str(err)


def test_a_changed_byte_in_a_streams_last_event_is_located_at_its_head(populated: Populated) -> None:
    last = populated.stream_of(EVENTS - 2)[-1]
    assert last.position == EVENTS - 2
    populated.db.set_state(last.position, flip_trace_id_digit(populated.db.state(last.position)))

    err = fault(populated.store)

    assert (err.position, err.stream, err.stream_position) == (
        last.position,
        last.stream,
        last.stream_position,
    )
    assert err.expected == f"{last.stream_position}:{last.hash}"
    assert "altered or the head was rewritten" in str(err)


def test_a_deleted_middle_event_is_a_missing_global_position(populated: Populated) -> None:
    populated.db.run("DELETE FROM {events} WHERE {nid} = ?", (123 + 1,))

    err = fault(populated.store)

    assert err.position == 123
    assert "global position 123 is missing" in str(err)


def test_an_inserted_copy_of_an_event_is_detected_where_it_was_inserted(populated: Populated) -> None:
    copied = populated.receipts[40]
    new_id = UUID(int=0xDEADBEEF)
    populated.db.run(
        "INSERT INTO {events} ({nid}, originator_id, originator_version, topic, state, event_id) "
        "SELECT ?, originator_id, ?, topic, state, ? FROM {events} WHERE {nid} = ?",
        (EVENTS + 1, len(populated.stream_of(40)), populated.db.uuid(new_id), copied.position + 1),
    )
    assert populated.store.size() == EVENTS + 1

    err = fault(populated.store)

    assert (err.position, err.stream) == (EVENTS, copied.stream)
    assert (err.expected, err.found) == (str(EVENTS), str(copied.position))


def test_two_swapped_events_are_detected_at_the_first(populated: Populated) -> None:
    first, second = populated.stream_of(100)[5], populated.stream_of(100)[9]
    assert first.position < second.position
    a, b = populated.db.state(first.position), populated.db.state(second.position)
    populated.db.set_state(first.position, b)
    populated.db.set_state(second.position, a)

    err = fault(populated.store)

    assert (err.position, err.stream) == (first.position, first.stream)
    assert (err.expected, err.found) == (str(first.position), str(second.position))


def test_a_truncated_stream_end_is_detected_against_its_head(populated: Populated) -> None:
    last = populated.receipts[-1]
    stream = populated.stream_of(last.position)
    assert stream[-1] == last
    populated.db.run("DELETE FROM {events} WHERE {nid} = ?", (EVENTS,))
    assert populated.store.size() == EVENTS - 1

    err = fault(populated.store)

    assert (err.position, err.stream, err.stream_position) == (
        stream[-2].position,
        last.stream,
        stream[-2].stream_position,
    )
    assert f"stream {last.stream} ends at stream position {stream[-2].stream_position}" in str(err)
    assert "events were removed from the end of the stream" in str(err)


def test_a_rewritten_head_hash_is_detected(populated: Populated) -> None:
    last = populated.stream_of(77)[-1]
    forged = bytes(32)
    populated.db.run("UPDATE {heads} SET hash = ? WHERE stream = ?", (forged, last.stream))

    err = fault(populated.store)

    assert (err.position, err.stream) == (last.position, last.stream)
    assert (err.expected, err.found) == (
        f"{last.stream_position}:{forged.hex()}",
        f"{last.stream_position}:{last.hash}",
    )


def test_a_head_moved_ahead_of_its_stream_is_detected(populated: Populated) -> None:
    last = populated.stream_of(3)[-1]
    populated.db.run(
        "UPDATE {heads} SET stream_position = stream_position + 1, position = ? WHERE stream = ?",
        (EVENTS + 5, last.stream),
    )

    err = fault(populated.store)

    assert (err.position, err.stream, err.stream_position) == (
        last.position,
        last.stream,
        last.stream_position,
    )
    assert "events were removed from the end of the stream" in str(err)


def test_a_deleted_head_is_detected(populated: Populated) -> None:
    stream = populated.receipts[10].stream
    populated.db.run("DELETE FROM {heads} WHERE stream = ?", (stream,))

    err = fault(populated.store)

    assert err.stream == stream
    assert "has events but no head record" in str(err)
