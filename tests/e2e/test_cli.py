"""The `ledger` command as a user runs it: a real process, a real SQLite file, real errors."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

LEDGER = [sys.executable, "-c", "from infra.cli.main import run; run()"]


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env |= {
        "LEDGER_DATA_DIR": str(tmp),  # nothing read from the working directory's var/
        "LEDGER_SQLITE_PATH": str(tmp / "ledger.sqlite3"),
        "LEDGER_KEYS_PATH": str(tmp / "keys.sqlite3"),
        "LEDGER_KEK_FILE": str(tmp / "kek.key"),
    }
    return env


def ledger(tmp: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [*LEDGER, *args], env=_env(tmp), input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def _event(n: int, stream: str = "FeatureFlag:new_lobby", **payload: object) -> str:
    return json.dumps({
        "event_id": f"00000000-0000-4000-8000-{n:012d}", "type": "feature_flag.changed",
        "schema_version": 1, "stream": stream, "occurred_at": "2026-03-01T10:00:00.000Z",
        "actor": {"kind": "operator", "id": "op-anna"}, "trace_id": "ab" * 16,
        "jurisdiction": "MT", "payload": {"flag": "new_lobby", "enabled": n % 2 == 0, **payload},
    })  # fmt: skip


def _assert_one_line(err: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_append_history_verify_round_trip(tmp_path: Path) -> None:
    lines = "\n".join(_event(i) for i in range(5)) + "\n"
    done = ledger(tmp_path, "append", "-", "--receipts", stdin=lines)
    assert done.returncode == 0, done.stderr
    receipts = [json.loads(x) for x in done.stdout.splitlines()]
    assert [r["stream_position"] for r in receipts] == [0, 1, 2, 3, 4]
    again = ledger(tmp_path, "append", "-", "--receipts", stdin=lines)
    assert [json.loads(x)["duplicate"] for x in again.stdout.splitlines()] == [True] * 5
    assert "0 new, 5 duplicates" in again.stderr
    hist = ledger(tmp_path, "history", "FeatureFlag:new_lobby", "--json")
    events = [json.loads(x) for x in hist.stdout.splitlines()]
    assert [e["hash"] for e in events] == [r["hash"] for r in receipts]
    ok = ledger(tmp_path, "verify", "--json")
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["events"] == 5


def test_bad_line_is_one_error_line_and_writes_nothing(tmp_path: Path) -> None:
    lines = [_event(i) for i in range(4)]
    lines[2] = _event(2, rollout_percent=150)
    done = ledger(tmp_path, "append", "-", stdin="\n".join(lines))
    assert done.returncode == 2
    _assert_one_line(done.stderr)
    assert "events[2].payload.rollout_percent" in done.stderr
    assert json.loads(ledger(tmp_path, "verify", "--json").stdout)["events"] == 0


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    done = ledger(tmp_path, "append", "-", stdin=_event(1) + "\n{not json\n")
    assert done.returncode == 2
    _assert_one_line(done.stderr)
    assert "line 2" in done.stderr


def test_missing_file_and_bad_settings_are_one_line(tmp_path: Path) -> None:
    missing = ledger(tmp_path, "append", str(tmp_path / "nope.ndjson"))
    assert missing.returncode == 2  # bad input, not a storage failure
    _assert_one_line(missing.stderr)
    assert "file: cannot read" in missing.stderr
    env = _env(tmp_path) | {"LEDGER_STORE": "oracle"}
    bad = subprocess.run([*LEDGER, "verify"], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert bad.returncode == 2
    _assert_one_line(bad.stderr)
    assert "LEDGER_STORE" in bad.stderr


def test_an_unreachable_postgresql_is_one_storage_error_line(tmp_path: Path) -> None:
    env = _env(tmp_path) | {"LEDGER_STORE": "postgres", "LEDGER_PG_DSN": f"host={tmp_path} dbname=nope"}
    done = subprocess.run([*LEDGER, "verify"], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 3
    _assert_one_line(done.stderr)
    assert f"cannot connect to PostgreSQL (host={tmp_path} port=5432 dbname=nope)" in done.stderr
    assert "No such file or directory" in done.stderr  # the cause, not only the pool's timeout
    assert "internal error" not in done.stderr
    last = subprocess.run([*LEDGER, "verify", "--last"], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert last.returncode == 3
    _assert_one_line(last.stderr)
    assert "cannot open verification results in PostgreSQL" in last.stderr


def test_an_unreachable_postgresql_port_names_the_port_and_the_cause(tmp_path: Path) -> None:
    env = _env(tmp_path) | {"LEDGER_STORE": "postgres", "LEDGER_PG_DSN": "host=127.0.0.1 port=1 dbname=test"}
    done = subprocess.run([*LEDGER, "verify"], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 3
    _assert_one_line(done.stderr)
    assert "(host=127.0.0.1 port=1 dbname=test)" in done.stderr
    assert "Connection refused" in done.stderr


def test_a_malformed_event_id_is_bad_input(tmp_path: Path) -> None:
    done = ledger(tmp_path, "get", "not-a-uuid")
    assert done.returncode == 2
    _assert_one_line(done.stderr)
    assert "event_id: not a UUID" in done.stderr
    assert "internal error" not in done.stderr
    assert ledger(tmp_path, "append", "-", stdin=_event(3)).returncode == 0
    found = ledger(tmp_path, "get", "00000000-0000-4000-8000-000000000003".upper())
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["event_id"] == "00000000-0000-4000-8000-000000000003"


@pytest.mark.parametrize("day", ["yesterday", "2026-1", "2026-01-05T00", "20260105"])
def test_a_report_day_that_is_no_day_prefix_is_refused(tmp_path: Path, day: str) -> None:
    done = ledger(tmp_path, "report", "--day", day)
    assert done.returncode == 2
    _assert_one_line(done.stderr)
    assert "day: expected a day prefix" in done.stderr


def test_report_day_prefixes_are_accepted(tmp_path: Path) -> None:
    for day in ("2026", "2026-01", "2026-01-05"):
        assert ledger(tmp_path, "report", "--day", day, "--json").returncode == 0


def test_tampered_file_fails_verify_and_names_the_event(tmp_path: Path) -> None:
    lines = "\n".join(_event(i) for i in range(6)) + "\n"
    assert ledger(tmp_path, "append", "-", stdin=lines).returncode == 0
    db = sqlite3.connect(tmp_path / "ledger.sqlite3")
    state = db.execute("SELECT state FROM ledger_events WHERE rowid = 3").fetchone()[0]
    db.execute("UPDATE ledger_events SET state = ? WHERE rowid = 3", (state.replace(b"op-anna", b"op-anne"),))
    db.commit()
    db.close()
    failed = ledger(tmp_path, "verify")
    assert failed.returncode == 1
    _assert_one_line(failed.stderr)
    assert "FeatureFlag:new_lobby position 3 (global 3)" in failed.stderr
    as_json = json.loads(ledger(tmp_path, "verify", "--json").stdout)
    assert as_json["ok"] is False
    assert as_json["failure"]["position"] == 3


def test_verify_stores_its_result_for_the_api_and_follow_repeats_it(tmp_path: Path) -> None:
    assert ledger(tmp_path, "append", "-", stdin="\n".join(_event(i) for i in range(3))).returncode == 0
    none_yet = ledger(tmp_path, "verify", "--last")
    assert none_yet.returncode == 2
    _assert_one_line(none_yet.stderr)
    assert ledger(tmp_path, "verify").returncode == 0
    stored = json.loads(ledger(tmp_path, "verify", "--last", "--json").stdout)
    assert stored["ok"] is True
    assert stored["events"] == 3
    env = _env(tmp_path) | {"LEDGER_VERIFY_INTERVAL": "0.2"}
    follower = subprocess.Popen(  # noqa: S603
        [*LEDGER, "verify", "--follow"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert follower.stdout is not None
        lines = [follower.stdout.readline() for _ in range(3)]
    finally:
        follower.terminate()
        follower.wait(timeout=30)
    assert all(line.startswith("verify: OK: 3 events") for line in lines), lines
    latest = json.loads(ledger(tmp_path, "verify", "--last", "--json").stdout)
    assert latest["finished_at"] > stored["finished_at"]
    shown = ledger(tmp_path, "verify", "--last")
    assert shown.stdout.startswith(f"verify (last run, finished {latest['finished_at']}): OK: 3 events")


def test_verify_needs_no_kek_and_opens_no_data_keys(tmp_path: Path) -> None:
    """A verifier holds no key material: it reads stored bytes (the demo's personal fields stay sealed)."""
    assert ledger(tmp_path, "demo", "--events", "60").returncode == 0
    (tmp_path / "kek.key").unlink()
    (tmp_path / "keys.sqlite3").unlink()
    env = _env(tmp_path) | {"LEDGER_KEK_FILE": str(tmp_path / "no-kek" / "kek.key")}
    done = subprocess.run([*LEDGER, "verify"], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("verify: OK: 60 events")
    assert not (tmp_path / "no-kek").exists(), "verify must not create a KEK"
    assert not (tmp_path / "keys.sqlite3").exists(), "verify must not open the data-key table"


def test_a_failed_verification_is_stored_with_its_location(tmp_path: Path) -> None:
    assert ledger(tmp_path, "append", "-", stdin="\n".join(_event(i) for i in range(3))).returncode == 0
    db = sqlite3.connect(tmp_path / "ledger.sqlite3")
    db.execute("DELETE FROM ledger_events WHERE rowid = 2")
    db.commit()
    db.close()
    assert ledger(tmp_path, "verify").returncode == 1
    last = ledger(tmp_path, "verify", "--last", "--json")
    assert last.returncode == 1
    stored = json.loads(last.stdout)
    assert stored["ok"] is False
    assert stored["failure"]["position"] == 1


def test_catalogue_lists_every_type_with_schema(tmp_path: Path) -> None:
    done = ledger(tmp_path, "catalogue", "--json")
    entries = json.loads(done.stdout)
    assert {"kyc.decided", "bonus_rule.changed", "feature_flag.changed"} <= {e["type"] for e in entries}
    assert all("schema" in e for e in entries)
    unknown = ledger(tmp_path, "catalogue", "--type", "no.such_type")
    assert unknown.returncode == 2
    _assert_one_line(unknown.stderr)


@pytest.mark.slow
def test_demo_is_idempotent_and_verifies(tmp_path: Path) -> None:
    first = ledger(tmp_path, "demo", "--events", "3000")
    assert first.returncode == 0, first.stderr
    assert "3000 events appended" in first.stdout
    second = ledger(tmp_path, "demo", "--events", "3000")
    assert "0 events appended, 3000 already present" in second.stdout
    assert ledger(tmp_path, "verify").returncode == 0
