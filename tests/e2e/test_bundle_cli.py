"""`ledger export` and `ledger verify-bundle` as a user runs them, on the embedded default."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from infra.cli.main import main
from tests.factories import Events, realistic
from tests.integration.test_bundle import round_events


def _env(tmp: Path) -> dict[str, str]:
    return {
        "LEDGER_DATA_DIR": str(tmp),  # nothing read from the working directory's var/
        "LEDGER_SQLITE_PATH": str(tmp / "ledger.sqlite3"),
        "LEDGER_KEYS_PATH": str(tmp / "keys.sqlite3"),
        "LEDGER_KEK_FILE": str(tmp / "kek.key"),
        "LEDGER_SIGNING_DIR": str(tmp / "signing"),
        "LEDGER_WORM_DIR": str(tmp / "worm"),
    }


@pytest.fixture
def sealed(tmp_path: Path) -> dict[str, str]:
    env = _env(tmp_path)
    assert main(["keys", "init"], env=env) == 0
    events = Events(seed=5)
    lines = [*realistic(events, 30, streams=5), *round_events(events, "r-9", steps=4)]
    (tmp_path / "events.ndjson").write_text("\n".join(json.dumps(e) for e in lines) + "\n")
    assert main(["append", str(tmp_path / "events.ndjson")], env=env) == 0
    assert main(["seal"], env=env) == 0
    assert main(["seal"], env=env) == 0  # seals the first anchor receipt too
    assert main(["keys", "export-public", "--out", str(tmp_path / "trusted.txt")], env=env) == 0
    return env


def test_export_round_then_verify_offline(
    sealed: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "round.zip"
    capsys.readouterr()
    assert main(["export", "--round", "r-9", "--out", str(out)], env=sealed) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    assert "4 events in scope" in printed
    trusted = str(tmp_path / "trusted.txt")
    assert main(["verify-bundle", str(out), "--trusted-key", trusted], env={}) == 0
    assert "verify-bundle: OK" in capsys.readouterr().out
    assert main(["verify-bundle", str(out), "--trusted-key", trusted, "--json"], env={}) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["events"] == report["scope_events"] == 4
    assert report["receipts"] == 1


def test_tampered_bundle_fails_with_one_located_line(
    sealed: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.zip"
    assert main(["export", "--stream", "BonusRule:br-0", "--out", str(out)], env=sealed) == 0
    with zipfile.ZipFile(out) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    target = sorted(n for n in members if n.startswith("records/"))[2]
    members[target] = members[target].replace(b'"v":1', b'"v":2')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    out.write_bytes(buf.getvalue())
    capsys.readouterr()
    code = main(["verify-bundle", str(out), "--trusted-key", str(tmp_path / "trusted.txt")], env={})
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert target in err
    assert "FAILED" in err


def test_other_operators_key_is_not_trusted(
    sealed: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.zip"
    assert main(["export", "--range", "0:10", "--out", str(out)], env=sealed) == 0
    other = _env(tmp_path / "other")
    assert main(["keys", "init"], env=other) == 0
    assert main(["keys", "export-public", "--out", str(tmp_path / "other.txt")], env=other) == 0
    capsys.readouterr()
    code = main(["verify-bundle", str(out), "--trusted-key", str(tmp_path / "other.txt"), "--json"], env={})
    assert code == 1
    failure = json.loads(capsys.readouterr().out)["failure"]
    assert "unknown key" in failure["message"]
    assert failure["checkpoint"] is not None


def test_default_path_and_unsealed_events_are_reported(
    sealed: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    more = json.dumps(Events(seed=6).bonus_rule("br-0", changed=True))
    (tmp_path / "more.ndjson").write_text(more + "\n")
    assert main(["append", str(tmp_path / "more.ndjson")], env=sealed) == 0
    capsys.readouterr()
    assert main(["export", "--stream", "BonusRule:br-0"], env=sealed) == 0
    captured = capsys.readouterr()
    assert (tmp_path / "bundles/stream-BonusRule-br-0.zip").exists()  # <LEDGER_DATA_DIR>/bundles
    assert "1 events of the scope are not sealed yet" in captured.err
    assert "ledger seal" in captured.err


def test_export_before_any_seal_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = _env(tmp_path)
    assert main(["export", "--stream", "BonusRule:br-0", "--out", str(tmp_path / "x.zip")], env=env) == 2
    err = capsys.readouterr().err
    assert "no signed checkpoint yet" in err
    assert "ledger seal" in err


def test_bundle_across_a_key_rotation(
    sealed: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "rotate"], env=sealed) == 0
    more = "\n".join(json.dumps(e) for e in realistic(Events(seed=8), 5, streams=5)) + "\n"
    (tmp_path / "more.ndjson").write_text(more)
    assert main(["append", str(tmp_path / "more.ndjson")], env=sealed) == 0
    assert main(["seal"], env=sealed) == 0
    out, both = tmp_path / "all.zip", tmp_path / "both.txt"
    assert main(["export", "--stream", "BonusRule:br-0", "--out", str(out)], env=sealed) == 0
    assert main(["keys", "export-public", "--out", str(both)], env=sealed) == 0
    capsys.readouterr()
    assert main(["verify-bundle", str(out), "--trusted-key", str(both), "--json"], env={}) == 0
    assert json.loads(capsys.readouterr().out)["checkpoints"] >= 2
    old_only = tmp_path / "trusted.txt"  # exported before the rotation: the new key is unknown
    assert main(["verify-bundle", str(out), "--trusted-key", str(old_only)], env={}) == 1
    assert "unknown key" in capsys.readouterr().err


def test_a_round_bundle_includes_the_events_the_round_projection_links(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path)
    assert main(["demo", "--events", "3000"], env=env) == 0
    assert main(["seal"], env=env) == 0
    capsys.readouterr()
    assert main(["round", "rnd-0000017", "--json"], env=env) == 0
    reconstruction = json.loads(capsys.readouterr().out)
    jackpot = reconstruction["jackpot"]  # the demo's first jackpot win: contribution, trigger, payout
    linked = {jackpot["trigger"]["position"], jackpot["payout"]["position"]}
    out = tmp_path / "round.zip"

    assert main(["export", "--round", "rnd-0000017", "--out", str(out)], env=env) == 0

    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("bundle.json"))
    assert manifest["scope"]["positions"] == reconstruction["positions"]
    assert linked <= set(manifest["scope"]["positions"])
    assert main(["keys", "export-public", "--out", str(tmp_path / "trusted.txt")], env=env) == 0
    assert main(["verify-bundle", str(out), "--trusted-key", str(tmp_path / "trusted.txt")], env={}) == 0
