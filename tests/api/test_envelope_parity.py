"""One wire contract: HTTP ingest and `ledger append` accept and reject the same envelopes alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from infra.cli.common import EXIT_INPUT
from infra.cli.main import main
from tests.api.conftest import Token
from tests.factories import Events

Change = Callable[[dict[str, Any]], None]


def _set(key: str, value: Any) -> Change:
    return lambda e: e.__setitem__(key, value)


def _actor(key: str, value: Any) -> Change:
    return lambda e: e["actor"].__setitem__(key, value)


def _drop(key: str) -> Change:
    return lambda e: e.pop(key)


ACCEPTED: list[tuple[str, Change]] = [
    ("as produced", lambda _: None),
    ("offset timestamp", _set("occurred_at", "2026-03-01T12:00:00.5+02:00")),
    ("nanosecond fraction", _set("occurred_at", "2026-03-01T10:00:00.123456789Z")),
    ("subdivision", _set("jurisdiction", "US-NJ")),
    ("expected position of a new stream", _set("expected_stream_position", 0)),
]

REJECTED: list[tuple[str, Change, str]] = [
    ("bad uuid", _set("event_id", "not-a-uuid"), "events[0].event_id"),
    ("bad jurisdiction", _set("jurisdiction", "malta"), "events[0].jurisdiction"),
    ("jurisdiction with newline", _set("jurisdiction", "MT\n"), "events[0].jurisdiction"),
    ("schema_version 0", _set("schema_version", 0), "events[0].schema_version"),
    ("schema_version 1001", _set("schema_version", 1001), "events[0].schema_version"),
    ("unknown field", _set("colour", "red"), "events[0]"),
    ("bad actor id", _actor("id", "op anna"), "events[0].actor.id"),
    ("long actor id", _actor("id", "a" * 129), "events[0].actor.id"),
    ("unknown actor field", _actor("name", "Anna"), "events[0].actor"),
    ("bad actor kind", _actor("kind", "robot"), "events[0].actor.kind"),
    ("type not a string", _set("type", 5), "events[0].type"),
    ("payload not an object", _set("payload", []), "events[0].payload"),
    ("actor not an object", _set("actor", "op-anna"), "events[0].actor"),
    ("schema_version text", _set("schema_version", "one"), "events[0].schema_version"),
    # Both decode strictly: no numeric text or integral float for an int.
    ("schema_version numeric text", _set("schema_version", "1"), "events[0].schema_version"),
    ("schema_version float", _set("schema_version", 1.0), "events[0].schema_version"),
    ("position numeric text", _set("expected_stream_position", "0"), "events[0].expected_stream_position"),
    ("schema_version bool", _set("schema_version", True), "events[0].schema_version"),  # noqa: FBT003
    ("missing stream", _drop("stream"), "events[0]"),
    ("missing payload", _drop("payload"), "events[0]"),
    ("bad stream", _set("stream", "featureflag:x"), "events[0].stream"),
    ("bad trace id", _set("trace_id", "xyz"), "events[0].trace_id"),
    ("bad timestamp", _set("occurred_at", "yesterday"), "events[0].occurred_at"),
    ("no offset", _set("occurred_at", "2026-03-01T10:00:00.000"), "events[0].occurred_at"),
    ("space for T", _set("occurred_at", "2026-03-01 10:00:00Z"), "events[0].occurred_at"),
    ("date only", _set("occurred_at", "2026-03-01"), "events[0].occurred_at"),
    ("timestamp not a string", _set("occurred_at", 1_700_000_000), "events[0].occurred_at"),
    ("negative position", _set("expected_stream_position", -1), "events[0].expected_stream_position"),
    ("payload out of range", lambda e: e["payload"].update(rollout_percent=500), "events[0].payload.rollout_percent"),  # noqa: E501
]  # fmt: skip


def _envelope(n: int, change: Change) -> dict[str, Any]:
    event = Events(seed=9000 + n).feature_flag(f"parity-{n}")
    change(event)
    return event


def _cli(
    tmp_path: Path, event: dict[str, Any] | bytes, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    source = tmp_path / "events.ndjson"
    source.write_bytes((event if isinstance(event, bytes) else msgspec.json.encode(event)) + b"\n")
    env = {
        "LEDGER_DATA_DIR": str(tmp_path / "cli"),  # nothing read from the working directory's var/
        "LEDGER_SQLITE_PATH": str(tmp_path / "cli.sqlite3"),
        "LEDGER_KEYS_PATH": str(tmp_path / "cli-keys.sqlite3"),
        "LEDGER_KEK_FILE": str(tmp_path / "cli-kek.key"),
    }
    capsys.readouterr()
    code = main(["append", str(source)], env)
    return code, capsys.readouterr().err


def test_http_and_cli_accept_the_same_envelopes(
    client: TestClient[Litestar], token: Token, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = token("service_writer")
    for n, (name, change) in enumerate(ACCEPTED):
        event = _envelope(n, change)
        r = client.post("/v1/events", json=[event], headers=h)
        assert r.status_code == 201, (name, r.text)
        code, err = _cli(tmp_path, event, capsys)
        assert code == 0, (name, err)


def test_http_and_cli_reject_the_same_envelopes_naming_the_same_field(
    client: TestClient[Litestar], token: Token, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = token("service_writer")
    for n, (name, change, field) in enumerate(REJECTED, start=100):
        event = _envelope(n, change)
        r = client.post("/v1/events", json=[event], headers=h)
        assert r.status_code == 422, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == field, name
        code, err = _cli(tmp_path, event, capsys)
        assert code == EXIT_INPUT, (name, err)
        assert len(err.strip().splitlines()) == 1, (name, err)
        assert err.startswith(f"ledger append: {field}: "), (name, err)


def _not_json(n: int) -> list[tuple[str, bytes]]:
    good = msgspec.json.encode(_envelope(n, lambda _: None))
    return [
        ("malformed", good[:-1] + b","),
        ("trailing characters", good + b" x"),
        ("invalid UTF-8 in a string", good.replace(b'"feature_flag.changed"', b'"feature_flag.\xc3\x28"')),
    ]


def test_bytes_that_are_not_json_are_rejected_by_both(
    client: TestClient[Litestar], token: Token, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = token("service_writer") | {"Content-Type": "application/json"}
    for name, data in _not_json(200):
        r = client.post("/v1/events", content=data, headers=h)
        assert r.status_code == 400, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "not valid JSON" in r.json()["detail"], name
        code, err = _cli(tmp_path, data, capsys)
        assert code == EXIT_INPUT, (name, err)
        assert err.startswith("ledger append: line 1: "), (name, err)
