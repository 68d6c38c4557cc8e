"""The projection commands as a user runs them, on both stores; kill mid-rebuild, then resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.backend import Backend
from infra.postgres import PostgresBackend
from infra.settings import Settings
from infra.wiring.bootstrap import open_backend
from projections.registry import all_projections

LEDGER = [sys.executable, "-c", "from infra.cli.main import run; run()"]


@pytest.fixture
def env(backend: Backend, tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    out |= {
        "LEDGER_DATA_DIR": str(tmp_path),  # nothing read from the working directory's var/
        "LEDGER_SQLITE_PATH": str(tmp_path / "ledger.sqlite3"),
        "LEDGER_KEYS_PATH": str(tmp_path / "keys.sqlite3"),
        "LEDGER_KEK_FILE": str(tmp_path / "kek.key"),
    }
    if isinstance(backend, PostgresBackend):
        out |= {"LEDGER_STORE": "postgres", "LEDGER_PG_DSN": backend.dsn, "LEDGER_PG_SCHEMA": backend.schema}
    return out


def ledger(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [*LEDGER, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _digest(env: dict[str, str]) -> dict[str, str]:
    views = open_backend(Settings.from_env(env)).views()
    try:
        return {t: views.digest(t) for p in all_projections() for t in p.tables}
    finally:
        views.close()


def _positions(env: dict[str, str]) -> list[int]:
    views = open_backend(Settings.from_env(env)).views()
    try:
        views.ensure([])
        return [t.position for t in views.tracking().values()]
    finally:
        views.close()


def test_commands_answer_after_demo(env: dict[str, str]) -> None:
    assert ledger(env, "demo", "--events", "3000").returncode == 0
    status = ledger(env, "projections", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert {s["lag"] for s in json.loads(status.stdout)} == {3000}
    audit = ledger(env, "audit", "--entity", "BonusRule", "--id", "rule-welcome", "--json")
    assert audit.returncode == 0, audit.stderr
    revisions = json.loads(audit.stdout)
    assert [r["type"] for r in revisions] == ["bonus_rule.created", "bonus_rule.changed"]
    assert revisions[1]["patch"] == [{"op": "replace", "path": "/config/max_bonus/amount", "value": "300.00"}]
    text = ledger(env, "audit", "--entity", "BonusRule", "--id", "rule-welcome")
    assert "replace /config/max_bonus/amount" in " ".join(text.stdout.split())
    round_ = ledger(env, "round", "rnd-0000004")
    assert round_.returncode == 0
    assert "round rnd-0000004" in round_.stdout
    assert "flags: none" in round_.stdout
    case = ledger(env, "case", "case-0000001", "--json")
    assert json.loads(case.stdout)["kind"] == "aml_case"
    for args in (["report"], ["quality"], ["state", "player", "plr-000001"]):
        done = ledger(env, *args)
        assert done.returncode == 0, done.stderr
    missing = ledger(env, "round", "rnd-none")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "ledger round: round_id: no round rnd-none"
    rebuilt = ledger(env, "projections", "rebuild", "audit", "rounds")
    assert "audit, rounds: 3000 events replayed" in rebuilt.stdout
    status = json.loads(ledger(env, "projections", "status", "--json").stdout)
    assert {(s["lag"], s["stale"]) for s in status} == {(0, False)}


@pytest.mark.slow
def test_killed_rebuild_resumes_to_identical_views(env: dict[str, str]) -> None:
    events = 20_000
    assert ledger(env, "demo", "--events", str(events)).returncode == 0
    assert ledger(env, "projections", "rebuild").returncode == 0
    expected = _digest(env)
    proc = subprocess.Popen([*LEDGER, "projections", "rebuild"], env=env)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            positions = _positions(env)
            if positions and 0 < min(positions) < events and max(positions) < events:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    killed_at = _positions(env)
    assert min(killed_at) < events, "the kill must land mid-rebuild"
    run = ledger(env, "projections", "run")
    assert run.returncode == 0, run.stderr
    assert _digest(env) == expected, f"killed at {killed_at}"
