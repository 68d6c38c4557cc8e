"""The ledger's application service: validate, seal, encode, then append with group commit."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec

from ledger.catalogue import CATALOGUE, Catalogue
from ledger.catalogue.registry import EventType, invalid
from ledger.catalogue.types import Timestamp, dec_hook, enc_hook
from ledger.chain import Pending, StoredRecord
from ledger.encoding import ActorView, Content, canonical
from ledger.errors import LedgerError, NotFoundError, StorageError, ValidationError
from ledger.event import EventIn, ReadEvent, Receipt
from ledger.merkle_log import TreeStore
from ledger.pii import decrypt_payload, encrypt_payloads
from ledger.ports import Clock, EventStore, FieldCipher
from ledger.proofs import Proofs
from ledger.reads import decode_event, first_at_or_after, last_anchor_at, scan

MAX_BATCH = 10_000


@dataclass
class _Job:
    batch: Sequence[Pending]
    done: threading.Event = field(default_factory=threading.Event)
    result: list[Receipt] | LedgerError | None = None

    def wait(self) -> list[Receipt]:
        """Block until committed; return the receipts or raise the batch's error."""
        self.done.wait()
        if isinstance(self.result, LedgerError):
            raise self.result
        assert self.result is not None  # noqa: S101 - set before done
        return self.result


class GroupCommitter:
    """Merge concurrent callers' batches into one store transaction.

    One writer thread drains whatever has queued while the previous commit ran, so under
    load many small appends share one durable commit; each caller's batch stays atomic.
    """

    def __init__(self, store: EventStore, max_events: int = MAX_BATCH) -> None:
        self._store = store
        self._max = max_events
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ledger-group-commit", daemon=True)
        self._thread.start()

    def submit(self, batch: Sequence[Pending]) -> _Job:
        """Queue ``batch`` for an atomic append sharing the commit with concurrent callers."""
        job = _Job(batch)
        self._queue.put(job)
        return job

    def close(self) -> None:
        """Stop the writer thread after the queued jobs are done."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            jobs, size = [job], len(job.batch)
            while size < self._max:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                jobs.append(more)
                size += len(more.batch)
            self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            results = self._store.append([j.batch for j in jobs])
        except LedgerError as e:
            results = [e] * len(jobs)
        except Exception as e:  # noqa: BLE001 - a writer thread must never die silently
            results = [StorageError(f"append failed: {type(e).__name__}: {e}")] * len(jobs)
        for j, r in zip(jobs, results, strict=True):
            j.result = r
            j.done.set()


class Ledger:
    """Append, read and erase; everything else (proofs, views) builds on this."""

    def __init__(
        self,
        store: EventStore,
        cipher: FieldCipher,
        clock: Clock,
        catalogue: Catalogue = CATALOGUE,
        *,
        group_commit: bool = True,
    ) -> None:
        self.store = store
        self._cipher = cipher
        self._clock = clock
        self.catalogue = catalogue
        self._committer = GroupCommitter(store) if group_commit else None

    def append(self, events: Sequence[EventIn | Mapping[str, Any]]) -> list[Receipt]:
        """Append ``events`` as one atomic batch and return one receipt per event.

        A repeated ``event_id`` with identical content returns the original receipt
        (``duplicate=True``) and writes nothing.

        Raises:
            ValidationError: an event does not match the catalogue (field names the place).
            ConflictError: an event id reused with other content, or a stale expected position.
            PolicyViolationError: personal data for an erased subject.
            StorageError: the store failed; nothing was written.
        """
        if not events:
            return []
        return self._submit(self._prepare_batch(events)).wait()

    def append_all(self, batches: Iterable[Sequence[EventIn | Mapping[str, Any]]]) -> Iterator[list[Receipt]]:
        """Append many batches in order, preparing the next while the previous one commits.

        Yields each batch's receipts in order. A batch is handed to the store only after the
        previous one committed, so the first error stops everything: earlier batches stay
        committed, the failing and later ones are not written.
        """
        in_flight: _Job | None = None
        for events in batches:
            pending = self._prepare_batch(events)
            if in_flight is not None:
                yield in_flight.wait()
            in_flight = self._submit(pending)
        if in_flight is not None:
            yield in_flight.wait()

    def _prepare_batch(self, events: Sequence[EventIn | Mapping[str, Any]]) -> list[Pending]:
        if len(events) > MAX_BATCH:
            msg = f"a batch holds at most {MAX_BATCH} events, got {len(events)}"
            raise ValidationError(msg, field="events")
        return self.prepare(events)

    def _submit(self, pending: list[Pending]) -> _Job:
        if self._committer is not None:
            return self._committer.submit(pending)
        job = _Job(pending)
        job.result = self.store.append([pending])[0]
        job.done.set()
        return job

    def validate(self, events: Sequence[EventIn | Mapping[str, Any]], offset: int = 0) -> None:
        """Check ``events`` against the catalogue without sealing or writing anything.

        Raises:
            ValidationError: the first invalid event (``events[offset + i].<field>``).
        """
        for i, e in enumerate(events):
            self._check(offset + i, e)

    def prepare(self, events: Sequence[EventIn | Mapping[str, Any]]) -> list[Pending]:
        """Validate, seal and canonically encode ``events`` (no storage access but keys)."""
        checked = [self._check(i, e) for i, e in enumerate(events)]
        encrypt_payloads(self._cipher, [(t, e.event_id, p) for e, t, p in checked])
        recorded_at = Timestamp.from_epoch_ms(self._clock.now_ms()).canonical()
        return [
            Pending(
                e.event_id,
                e.stream,
                e.type,
                canonical(_content(e, p)),
                recorded_at,
                e.expected_stream_position,
            )
            for e, _, p in checked
        ]

    def _check(self, i: int, raw: EventIn | Mapping[str, Any]) -> tuple[EventIn, EventType, dict[str, Any]]:
        where = f"events[{i}]"
        try:
            event = raw if isinstance(raw, EventIn) else msgspec.convert(raw, EventIn, dec_hook=dec_hook)
            etype = self.catalogue.get(event.type, event.schema_version)
            _check_entity(event, etype)
            payload = self.catalogue.decode(etype, event.payload)
        except msgspec.ValidationError as e:
            raise invalid(e, where) from None
        except ValidationError as e:
            raise ValidationError(e.message, field=f"{where}.{e.field}" if e.field else where) from None
        return event, etype, msgspec.to_builtins(payload, enc_hook=enc_hook)

    def get(self, event_id: str) -> ReadEvent:
        """Return one event by id, opened and upcast.

        Raises:
            ValidationError: ``event_id`` is not a UUID.
            NotFoundError: no event has that id.
        """
        try:
            event_id = str(UUID(event_id))
        except ValueError:
            msg = f"not a UUID: {event_id!r}"
            raise ValidationError(msg, field="event_id") from None
        stored = self.store.get(event_id)
        if stored is None:
            msg = f"no event with event_id {event_id}"
            raise NotFoundError(msg, field="event_id")
        return self.read_event(stored)

    def history(self, stream: str, start: int = 0, limit: int | None = None) -> list[ReadEvent]:
        """Return a stream's events in order, opened and upcast (empty for an unknown stream)."""
        return [self.read_event(r) for r in self.store.read_stream(stream, start, limit)]

    def read(self, start: int, limit: int) -> list[ReadEvent]:
        """Return events by global position, opened and upcast."""
        return [self.read_event(r) for r in self.store.read(start, limit)]

    def read_event(self, stored: StoredRecord) -> ReadEvent:
        """Decode one stored record, open its personal fields, upcast it."""
        return decode_event(stored.data, self.catalogue, self._open)

    def _open(
        self, etype: EventType, event_id: UUID, payload: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        return decrypt_payload(self._cipher, etype, event_id, payload)

    def size(self) -> int:
        """How many events the ledger holds."""
        return self.store.size()

    def scan(
        self,
        category: str,
        *,
        since: str | None = None,
        until: str | None = None,
        start: int | None = None,
        limit: int = 100,
    ) -> tuple[list[ReadEvent], int | None]:
        """Events of a type or type prefix recorded in [``since``, ``until``), opened, and where to go on.

        Without ``start`` the scan begins at the first event that can be recorded at ``since``.
        See :func:`ledger.reads.scan` for the per-call bound.
        """
        if start is None:
            start = first_at_or_after(self.store, since) if since else 0
        return scan(self.store, self.read_event, category, start, since=since, until=until, limit=limit)

    def last_anchor_at(self) -> str | None:
        """When the latest anchor receipt was recorded, if any."""
        return last_anchor_at(self.store)

    def proofs(self, tree: TreeStore) -> Proofs:
        """Inclusion proofs of this ledger's records in ``tree``."""
        return Proofs(self.store, tree)

    def erase_subject(self, subject: str) -> bool:
        """Destroy the data key of ``subject``: its personal fields become unreadable forever.

        Hashes cover ciphertext only, so every chain and proof stays valid.
        """
        return self._cipher.erase(subject)

    def close(self) -> None:
        """Stop the group committer and release the store."""
        if self._committer is not None:
            self._committer.close()
        self.store.close()
        self._cipher.close()


def _check_entity(event: EventIn, etype: EventType) -> None:
    entity = event.stream.split(":", 1)[0]
    if entity not in etype.entities:
        allowed = ", ".join(f"{x}:<id>" for x in etype.entities)
        msg = f"{event.type} belongs on a stream {allowed}, not {event.stream!r}"
        raise ValidationError(msg, field="stream")


def _content(event: EventIn, payload: dict[str, Any]) -> Content:
    return Content(
        actor=ActorView(id=event.actor.id, kind=event.actor.kind),
        event_id=event.event_id,
        jurisdiction=event.jurisdiction,
        occurred_at=event.occurred_at.canonical(),
        payload=payload,
        schema_version=event.schema_version,
        stream=event.stream,
        trace_id=event.trace_id,
        type=event.type,
    )


# Strict (no "1" -> 1, no 1.0 -> 1): HTTP bodies and NDJSON lines are held to the same JSON types.
_envelope = msgspec.json.Decoder(EventIn, dec_hook=dec_hook, strict=True)
_envelopes = msgspec.json.Decoder(EventIn | list[EventIn], dec_hook=dec_hook, strict=True)
_AT = " - at `$"


def _envelope_error(err: msgspec.ValidationError, index: int | None) -> ValidationError:
    """Name the failing field ``events[i].<path>``; ``index`` is None for a body that may be an array."""
    text, found, at = str(err).rpartition(_AT)
    text, at = (text, at.rstrip("`")) if found else (at, "")
    if index is not None:
        field = f"events[{index}]{at}"
    elif at.startswith("["):
        field = f"events{at}"
    else:
        # A lone object is events[0]; an error at the top ($) may be the body's own shape.
        field = f"events[0]{at}" if at else "events"
    return ValidationError(text, field=field)


def decode_envelopes(data: bytes, *, index: int | None = None) -> list[EventIn]:
    """Decode JSON bytes strictly, in one pass, into envelopes: the one decoder of HTTP and the CLI.

    With ``index`` the bytes are one envelope (an NDJSON line, ``events[index]``); without,
    a request body: one envelope or an array of them.

    Raises:
        ValidationError: not an envelope (``events[i].<field>``, or ``events`` for the body's shape).
        msgspec.DecodeError: not JSON (invalid UTF-8 included).
    """
    try:
        if index is not None:
            return [_envelope.decode(data)]
        value = _envelopes.decode(data)
    except msgspec.ValidationError as e:
        raise _envelope_error(e, index) from None
    except UnicodeDecodeError as e:
        msg = f"invalid UTF-8 ({e.reason})"
        raise msgspec.DecodeError(msg) from None
    return value if isinstance(value, list) else [value]


def decode_events(lines: Iterable[bytes]) -> list[EventIn]:
    """Decode NDJSON lines straight into envelopes (payloads are validated on append).

    Raises:
        ValidationError: a line is not JSON (``line n``, 1-based) or not an envelope
            (``events[i].<field>``, counting non-blank lines from 0).
    """
    out: list[EventIn] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.extend(decode_envelopes(line, index=len(out)))
        except msgspec.DecodeError as e:
            msg = f"line {n} is not valid JSON: {e}"
            raise ValidationError(msg, field=f"line {n}") from None
    return out
