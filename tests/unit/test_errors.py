"""The located faults keep the ``as_dict`` shape the CLI's ``--json`` and stored results show."""

from __future__ import annotations

from ledger.bundle import BundleError
from ledger.errors import ChainError, LocatedError, VerificationError, Where


def test_chain_and_bundle_faults_are_one_located_fault() -> None:
    assert issubclass(ChainError, LocatedError)
    assert issubclass(BundleError, LocatedError)
    assert issubclass(LocatedError, VerificationError)


def test_a_chain_fault_as_data() -> None:
    e = ChainError("m", position=3, stream="S:1", stream_position=2, expected="a", found="b")
    assert e.as_dict() == {
        "message": "m",
        "position": 3,
        "stream": "S:1",
        "stream_position": 2,
        "expected": "a",
        "found": "b",
    }
    assert list(ChainError("m").as_dict()) == [
        "message",
        "position",
        "stream",
        "stream_position",
        "expected",
        "found",
    ]


def test_a_bundle_fault_as_data() -> None:
    e = BundleError("m", Where("records/x.bin", 4, "S:1", 10), expected=1, found=2)
    assert e.as_dict() == {
        "message": "m",
        "file": "records/x.bin",
        "position": 4,
        "stream": "S:1",
        "checkpoint": 10,
        "expected": "1",
        "found": "2",
    }
    assert list(BundleError("m").as_dict()) == [
        "message",
        "file",
        "position",
        "stream",
        "checkpoint",
        "expected",
        "found",
    ]
