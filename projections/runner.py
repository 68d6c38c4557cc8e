"""Run projections over the event log: catch up from any position, follow, rebuild.

Every batch is read once, decoded once, folded by every projection still behind, and
written together with all tracking moves in one view-store transaction. A crash therefore
resumes exactly after the last committed batch, and nothing is folded twice. A projection
whose stored version differs from its code's version is emptied and replayed from zero.
Folds are pure functions of the events (never of the clock or of the batch size), so a
rebuild produces byte-identical rows.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger.catalogue import CATALOGUE, Catalogue
from ledger.encoding import canonical
from ledger.errors import NotFoundError
from ledger.event import ReadEvent
from ledger.ports import EventStore
from ledger.reads import decode_event
from projections.ports import Doc, Move, TableWrites, Tracking, ViewStore

Need = tuple[str, str]


class Docs:
    """The documents one batch reads and writes, loaded in bulk before folding."""

    def __init__(self, views: ViewStore) -> None:
        self._views = views
        self._docs: dict[str, dict[str, Doc | None]] = {}
        self._dirty: dict[str, set[str]] = {}

    def preload(self, needs: Iterable[Need]) -> None:
        """Fetch every (table, key) not yet held, one query per table."""
        wanted: dict[str, set[str]] = {}
        for table, key in needs:
            held = self._docs.get(table)
            if held is None or key not in held:
                wanted.setdefault(table, set()).add(key)
        for table, keys in wanted.items():
            found = self._views.load(table, keys)
            held = self._docs.setdefault(table, {})
            for key in keys:
                held[key] = found.get(key)

    def get(self, table: str, key: str) -> Doc | None:
        """The document under ``key`` (preloaded or written in this batch), or ``None``."""
        held = self._docs.setdefault(table, {})
        if key not in held:
            held[key] = self._views.load(table, [key]).get(key)
        return held[key]

    def put(self, table: str, key: str, doc: Doc | None) -> None:
        """Write (``None``: delete) a document at the end of the batch."""
        self._docs.setdefault(table, {})[key] = doc
        self._dirty.setdefault(table, set()).add(key)

    def writes(self, versions: Mapping[str, int]) -> dict[str, TableWrites]:
        """The dirty documents as canonical bytes, per table, with the owning projection's version."""
        out: dict[str, TableWrites] = {}
        for table, keys in self._dirty.items():
            held = self._docs[table]
            rows = {k: None if (d := held[k]) is None else canonical(d) for k in sorted(keys)}
            out[table] = TableWrites(versions[table], rows)
        return out


class Projection(Protocol):
    """A read model: the event types it folds, its version, its tables and its fold."""

    name: str
    version: int
    topics: frozenset[str]
    tables: tuple[str, ...]

    def needs(self, fact: ReadEvent) -> Iterable[Need]:
        """The (table, key) documents folding ``fact`` reads, for bulk preloading."""
        ...

    def apply(self, fact: ReadEvent, docs: Docs) -> None:
        """Fold one event into the documents."""
        ...


@dataclass(frozen=True, slots=True)
class Status:
    """A projection's standing against the log."""

    name: str
    version: int
    stored_version: int | None
    position: int
    head: int

    @property
    def lag(self) -> int:
        """Events recorded but not yet folded."""
        return max(0, self.head - self.position)

    @property
    def stale(self) -> bool:
        """The rows were built by another version (a rebuild is due)."""
        return self.stored_version != self.version


Progress = Callable[[int], object]


class ProjectionRunner:
    """Fold the log into a set of projections' views, tracked, batch by batch."""

    def __init__(
        self,
        store: EventStore,
        views: ViewStore,
        projections: Sequence[Projection],
        *,
        catalogue: Catalogue = CATALOGUE,
        batch: int = 2000,
    ) -> None:
        self.store = store
        self.views = views
        self.projections = list(projections)
        self._catalogue = catalogue
        self._batch = batch
        self._versions = {t: p.version for p in self.projections for t in p.tables}
        views.ensure(list(self._versions))

    def select(self, names: Collection[str]) -> list[Projection]:
        """The projections called ``names`` (all when empty).

        Raises:
            NotFoundError: a name is not a known projection.
        """
        known = {p.name: p for p in self.projections}
        unknown = sorted(set(names) - set(known))
        if unknown:
            msg = f"unknown projection {', '.join(unknown)}; known: {', '.join(known)}"
            raise NotFoundError(msg, field="name")
        return [known[n] for n in names] if names else list(self.projections)

    def status(self) -> list[Status]:
        """Position, stored version and lag of every projection."""
        tracked, head = self.views.tracking(), self.store.size()
        out = []
        for p in self.projections:
            t = tracked.get(p.name)
            out.append(Status(p.name, p.version, t.version if t else None, t.position if t else 0, head))
        return out

    def rebuild(self, names: Collection[str] = (), progress: Progress | None = None) -> int:
        """Empty the named projections' views and replay them from position 0."""
        for p in self.select(names):
            self.views.reset(p.name, p.version, p.tables)
        return self.catch_up(progress)

    def catch_up(self, progress: Progress | None = None, *, until: int | None = None) -> int:
        """Fold everything recorded (up to ``until``) into every projection; return events read.

        Projections never tracked, or tracked at another version, are reset first.
        """
        positions = self._prepared_positions()
        done = 0
        while True:
            start = min(positions.values())
            limit = self._batch if until is None else min(self._batch, until - start)
            records = self.store.read_columns(start, limit).data if limit > 0 else []
            if not records:
                return done
            facts = [decode_event(r, self._catalogue) for r in records]
            self._fold(facts, positions)
            done += len(facts)
            if progress is not None:
                progress(len(facts))

    def follow(
        self, stop: threading.Event, interval: float = 0.05, wait: Callable[[float], object] | None = None
    ) -> None:
        """Catch up, then poll for new events until ``stop`` is set.

        ``wait(timeout)`` replaces the idle sleep: on PostgreSQL it returns as soon as the
        event store NOTIFYs an insert; polling stays the fallback either way.
        """
        while not stop.is_set():
            if self.catch_up() == 0:
                if wait is None:
                    stop.wait(interval)
                else:
                    wait(interval)

    def _prepared_positions(self) -> dict[str, int]:
        tracked = self.views.tracking()
        positions: dict[str, int] = {}
        for p in self.projections:
            t = tracked.get(p.name)
            if t is None or t.version != p.version:
                self.views.reset(p.name, p.version, p.tables)
                t = Tracking(p.version, 0)
            positions[p.name] = t.position
        return positions

    def _fold(self, facts: list[ReadEvent], positions: dict[str, int]) -> None:
        end = facts[-1].position + 1
        docs = Docs(self.views)
        behind = [p for p in self.projections if positions[p.name] < end]
        mine = {
            p.name: [f for f in facts if f.position >= positions[p.name] and f.type in p.topics]
            for p in behind
        }
        docs.preload(need for p in behind for f in mine[p.name] for need in p.needs(f))
        for p in behind:
            for f in mine[p.name]:
                p.apply(f, docs)
        moves = [Move(p.name, p.version, positions[p.name], end) for p in behind]
        self.views.commit(docs.writes(self._versions), moves)
        for m in moves:
            positions[m.name] = m.end

    def digest(self) -> dict[str, str]:
        """A digest per view table (equal digests: byte-identical views)."""
        return {t: self.views.digest(t) for p in self.projections for t in p.tables}


def digest_of(rows: Iterable[tuple[str, int, bytes]]) -> str:
    """SHA-256 over (key, version, data) rows given in key order (length-prefixed, unambiguous)."""
    h = hashlib.sha256()
    for key, version, data in rows:
        k = key.encode()
        h.update(len(k).to_bytes(4, "big") + k + version.to_bytes(4, "big") + len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()
