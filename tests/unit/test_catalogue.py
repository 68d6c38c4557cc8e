"""The event catalogue: every demo event validates; bad input is rejected, naming the place."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from infra.demo import demo_events
from ledger.catalogue import CATALOGUE
from ledger.catalogue.kyc import LEGACY_POLICY_VERSION
from ledger.catalogue.types import dec_hook
from ledger.errors import ValidationError
from ledger.event import EventIn

Event = dict[str, Any]


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return list(demo_events(5000))


def _first(events: list[Event], etype: str) -> Event:
    return copy.deepcopy(next(e for e in events if e["type"] == etype))


def test_every_demo_event_validates_against_its_declared_type(events: list[Event]) -> None:
    for raw in events:
        envelope = msgspec.convert(raw, EventIn, dec_hook=dec_hook)
        etype = CATALOGUE.get(envelope.type, envelope.schema_version)
        CATALOGUE.decode(etype, envelope.payload)
        assert envelope.stream.split(":", 1)[0] in etype.entities, (envelope.type, envelope.stream)


def test_an_unknown_type_is_rejected_as_type() -> None:
    with pytest.raises(ValidationError) as caught:
        CATALOGUE.get("round.exploded", 1)
    assert caught.value.field == "type"


def test_an_unknown_version_is_rejected_as_schema_version() -> None:
    with pytest.raises(ValidationError) as caught:
        CATALOGUE.get("round.bet_placed", 9)
    assert caught.value.field == "schema_version"


def _set(path: str, value: object) -> Callable[[Event], None]:
    def mutate(payload: Event) -> None:
        *parents, leaf = path.split(".")
        target = payload
        for key in parents:
            target = target[key]
        target[leaf] = value

    return mutate


@pytest.mark.parametrize(
    ("etype", "mutate", "field", "says"),
    [
        ("round.bet_placed", _set("bet_amount.amount", "ten"), "payload.bet_amount.amount", "decimal"),
        ("round.bet_placed", _set("bet_amount.amount", "1.234"), "payload.bet_amount", "decimal places"),
        ("round.started", _set("game_version_hash", "ABC"), "payload.game_version_hash", "regex"),
        ("round.bet_placed", _set("colour", "red"), "payload", "unknown field `colour`"),
        ("payment.deposit_authorized", _set("method", "cash"), "payload.method", "enum"),
        ("jackpot.paid", _set("trigger_event_id", "not-a-uuid"), "payload.trigger_event_id", "UUID"),
        ("wallet.debited", _set("balance_after.amount", "0.01"), "payload", "balance_after must be"),
        ("wallet.credited", _set("amount.currency", "GBP"), "payload", "one currency"),
        ("game.version_released", _set("rtp_theoretical", "1.2"), "payload", "rtp_theoretical"),
        ("game.version_released", _set("rtp_theoretical", "NaN"), "payload", "rtp_theoretical"),
        ("rg.limit_set", _set("limit_type", "session_time"), "payload", "session_time"),
        ("aml.decision_made", _set("action", "limit"), "payload", "requires limits"),
        ("admin.logged_in", _set("ip_address", ""), "payload.ip_address", "length"),
    ],
)
def test_a_wrong_field_is_rejected_naming_its_place(
    events: list[Event], etype: str, mutate: Callable[[Event], None], field: str, says: str
) -> None:
    event = _first(events, etype)
    mutate(event["payload"])
    with pytest.raises(ValidationError) as caught:
        CATALOGUE.decode(CATALOGUE.get(etype, event["schema_version"]), event["payload"])
    assert caught.value.field == field
    assert says in caught.value.message


def test_kyc_decided_v1_upcasts_to_the_latest_version(events: list[Event]) -> None:
    old = next(e for e in events if e["type"] == "kyc.decided" and e["schema_version"] == 1)
    latest, payload = CATALOGUE.upcast(CATALOGUE.get("kyc.decided", 1), old["payload"])
    assert latest is CATALOGUE.latest("kyc.decided")
    decided = msgspec.to_builtins(CATALOGUE.decode(latest, payload))
    assert decided["policy_version"] == LEGACY_POLICY_VERSION
    assert decided["kyc_status"] == old["payload"]["kyc_status"]


def test_describe_lists_every_type_with_a_json_schema() -> None:
    described = {(d["type"], d["version"]): d for d in CATALOGUE.describe()}
    assert set(described) == {(t.name, t.version) for t in CATALOGUE}
    for entry in described.values():
        assert entry["schema"]["$ref"].startswith("#/$defs/"), entry["type"]
        assert entry["entities"], entry["type"]


@pytest.mark.parametrize(
    ("etype", "personal", "subject"),
    [
        ("payment.deposit_authorized", ["card_holder_name", "iban"], "player_ref"),
        ("payment.withdrawal_requested", ["iban", "crypto_address"], "player_ref"),
        ("admin.logged_in", ["ip_address"], "user_id"),
    ],
)
def test_personal_fields_are_declared_for_sealing(etype: str, personal: list[str], subject: str) -> None:
    described = next(d for d in CATALOGUE.describe() if d["type"] == etype)
    assert (described["personal"], described["subject"]) == (personal, subject)
