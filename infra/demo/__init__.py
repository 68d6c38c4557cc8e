"""A deterministic synthetic operator history, as the wire events producers would submit.

``demo_events(count, seed=...)`` tells one story: certified game releases, operators
configuring bonus rules, players registering (KYC), depositing, playing rounds with
jackpots and free spins, wagering bonuses off, withdrawing, being flagged by AML, setting
limits and excluding themselves, plus admin activity and an RNG incident.

Determinism: the only source of randomness is one ``random.Random(seed)`` and the clock
is simulated, so one seed always yields byte-identical events. Stories are generators
that emit events through :class:`_World` and yield how many milliseconds to wait; a heap
resumes them in time order and the clock advances at least 1 ms per event, so
``occurred_at`` strictly increases globally and therefore on every stream. Money is kept
in integer minor units and rendered with the currency's ISO-4217 scale; each wallet's
``balance_before``/``balance_after`` chain is exact.

The package is split by what the story is about, each module importing only those below it:
:mod:`~infra.demo.markets` (the data), :mod:`~infra.demo.world` (clock, ids, state, wallet),
:mod:`~infra.demo.bonus`, :mod:`~infra.demo.kyc_aml`, :mod:`~infra.demo.payments`,
:mod:`~infra.demo.rounds`, :mod:`~infra.demo.rg`, :mod:`~infra.demo.operations` and
:mod:`~infra.demo.players`; this module starts the two top-level stories and encodes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from typing import Any, Final, TypeVar

import msgspec

from infra.demo.operations import _operations
from infra.demo.players import _arrivals
from infra.demo.world import _EPOCH, _SECOND, _World
from ledger.catalogue.types import Timestamp

_ENCODER: Final = msgspec.json.Encoder()


def demo_events(
    count: int, *, seed: int = 7, start: str = "2026-01-05T08:00:00.000Z"
) -> Iterator[dict[str, Any]]:
    """Yield exactly ``count`` events of the synthetic history for ``seed``, in time order.

    Raises:
        ValueError: ``count`` is negative or ``start`` is not an RFC 3339 timestamp.
    """
    if count < 0:
        msg = f"count must be >= 0, got {count}"
        raise ValueError(msg)
    w = _World(seed, (Timestamp.parse(start) - _EPOCH) // dt.timedelta(milliseconds=1))
    w.spawn(_operations(w))
    w.spawn(_arrivals(w), 2 * _SECOND)
    return itertools.islice(w.run(), count)


def demo_ndjson(count: int, *, seed: int = 7, start: str = "2026-01-05T08:00:00.000Z") -> Iterator[bytes]:
    """Yield the same events as :func:`demo_events`, each encoded as one JSON line."""
    encode = _ENCODER.encode
    return (encode(event) + b"\n" for event in demo_events(count, seed=seed, start=start))


T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Split ``items`` into lists of at most ``size`` (the batches the ledger appends)."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


__all__ = ["chunks", "demo_events", "demo_ndjson"]
