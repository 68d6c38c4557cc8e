"""The ledger's read service without HTTP: the read model decoder, the type and time scan."""

from __future__ import annotations

from ledger.application import Ledger
from ledger.reads import decode_event, first_at_or_after
from tests.factories import Events


def _history(ledger: Ledger) -> list[str]:
    """Append flags and rules in one-event batches (each gets its own ``recorded_at``)."""
    ev = Events(seed=31)
    stamps = []
    for i in range(6):
        event = ev.feature_flag(f"f{i}") if i % 2 == 0 else ev.bonus_rule(f"r{i}")
        stamps.append(ledger.append([event])[0].recorded_at)
    return stamps


def test_decode_event_is_the_read_model_sealed(ledger: Ledger) -> None:
    _history(ledger)
    for stored in ledger.store.read(0, 10):
        sealed = decode_event(stored.data, ledger.catalogue)
        assert sealed == ledger.read_event(stored)  # nothing personal to open in these types
        assert sealed.entity == sealed.stream.partition(":")[0]
        assert sealed.schema_version == sealed.stored_schema_version == 1


def test_scan_filters_by_category_and_time_and_pages(ledger: Ledger) -> None:
    stamps = _history(ledger)
    flags, nxt = ledger.scan("feature_flag")
    assert [e.stream for e in flags] == ["FeatureFlag:f0", "FeatureFlag:f2", "FeatureFlag:f4"]
    assert nxt is None
    first, nxt = ledger.scan("feature_flag.changed", limit=2)
    assert [e.position for e in first] == [0, 2]
    assert nxt == 3  # continues after the last match
    rest, nxt = ledger.scan("feature_flag", start=nxt)
    assert [e.position for e in rest] == [4]
    assert nxt is None
    window, _ = ledger.scan("bonus_rule", since=stamps[2], until=stamps[5])
    assert [e.position for e in window] == [3]
    assert ledger.scan("feature", limit=5) == ([], None)  # a prefix is a whole dotted segment
    assert first_at_or_after(ledger.store, stamps[4]) == 0  # never past the margin


def test_no_anchor_yet(ledger: Ledger) -> None:
    _history(ledger)
    assert ledger.last_anchor_at() is None
    assert ledger.size() == 6
