"""Retention classes: every catalogue type is classified; the longest class in a batch wins."""

from __future__ import annotations

import pytest

from ledger.catalogue import CATALOGUE
from ledger.errors import ValidationError
from policies.retention import CLASSES, DEFAULT, POLICY_VERSION, class_of, retain_until

SEALED = "2026-03-01T10:00:00.250Z"


def test_every_catalogue_type_has_a_deliberate_class() -> None:
    unclassified = sorted({t.name for t in CATALOGUE if class_of(t.name) is DEFAULT})
    assert unclassified == [], "add these event types to policies/retention.py (new POLICY_VERSION)"


@pytest.mark.parametrize(
    ("event_type", "name", "years"),
    [
        ("round.settled", "gaming", 10),
        ("jackpot.paid", "gaming", 10),
        ("payment.deposit_captured", "payments", 10),
        ("wallet.debited", "payments", 10),
        ("kyc.decided", "aml_kyc", 10),
        ("kyt.address_screened", "aml_kyc", 10),
        ("aml.sar_filed", "aml_kyc", 10),
        ("rng.anomaly_detected", "game_integrity", 10),
        ("game.version_released", "game_integrity", 10),
        ("anchor.written", "ledger_anchors", 10),
        ("rg.self_exclusion_started", "player_protection", 10),
        ("incident.opened", "incidents", 5),
        ("bonus_rule.changed", "commercial", 5),
        ("bonus.granted", "commercial", 5),
        ("feature_flag.changed", "commercial", 5),
        ("limit.changed", "commercial", 5),
        ("rg.limit_set", "commercial", 5),
        ("admin.role_granted", "admin_security", 7),
        ("marketing.sent", "default", 7),
    ],
)
def test_classes(event_type: str, name: str, years: int) -> None:
    cls = class_of(event_type)
    assert (cls.name, cls.years) == (name, years)


def test_longest_class_in_the_batch_wins() -> None:
    assert retain_until(["feature_flag.changed", "incident.opened"], SEALED) == (
        "2031-03-01T10:00:00.250Z",
        "incidents",
    )
    assert retain_until(["feature_flag.changed", "admin.logged_in"], SEALED) == (
        "2033-03-01T10:00:00.250Z",
        "admin_security",
    )
    assert retain_until(["admin.logged_in", "payment.deposit_captured", "round.settled"], SEALED) == (
        "2036-03-01T10:00:00.250Z",
        "gaming",  # ties go to the first class in the table
    )


def test_empty_batch_and_unknown_types_get_the_default() -> None:
    assert retain_until([], SEALED) == ("2033-03-01T10:00:00.250Z", "default")
    assert retain_until(["something.new"], SEALED)[1] == "default"


def test_leap_day_rolls_forward() -> None:
    assert retain_until(["round.settled"], "2028-02-29T23:00:00.000Z") == (
        "2038-03-01T23:00:00.000Z",
        "gaming",
    )


def test_offsets_are_normalised_to_utc() -> None:
    assert retain_until(["incident.opened"], "2026-03-01T12:00:00.000+02:00")[0] == "2031-03-01T10:00:00.000Z"


def test_bad_sealed_at_names_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        retain_until(["round.settled"], "yesterday")
    assert err.value.field == "sealed_at"


def test_policy_is_versioned_data() -> None:
    assert POLICY_VERSION.startswith("retention-")
    names = [c.name for c in CLASSES]
    assert len(names) == len(set(names))
    prefixes = [p for c in CLASSES for p in c.prefixes]
    assert len(prefixes) == len(set(prefixes))
    assert all(p.endswith((".", "_")) for p in prefixes)
