"""`ledger keys init | rotate | export-public` as a user runs them (in-process, real files)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from infra.cli.common import EXIT_INPUT, EXIT_STORAGE
from infra.cli.main import main
from infra.settings import LocalWorm, S3Worm, Settings
from infra.signing import Keyring, load_trusted
from infra.wiring.bootstrap import build_keyring, build_worm
from infra.worm import LocalWormStore, S3WormStore
from ledger.checkpoint import ZERO_HASH, Checkpoint, open_checkpoint, sign_checkpoint


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    return {"LEDGER_DATA_DIR": str(tmp), "LEDGER_SIGNING_DIR": str(tmp / "signing"), **extra}


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_init_rotate_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = _env(tmp_path)
    assert main(["keys", "init"], env=env) == 0
    first = capsys.readouterr().out
    assert first.startswith("keys init: audit-ledger.local/log+")
    assert main(["keys", "rotate"], env=env) == 0
    assert "previous key is retired" in capsys.readouterr().out
    assert main(["keys", "export-public"], env=env) == 0
    exported = capsys.readouterr().out
    keys = [line for line in exported.splitlines() if not line.startswith("#")]
    assert len(keys) == 2
    assert keys[0].split(" ")[2] == keys[1].split(" ")[1]  # retired when the successor became valid
    assert keys[1].endswith(" -")
    assert keys[0].split(" ")[0] in first

    out = tmp_path / "trusted.keys"
    assert main(["keys", "export-public", "--out", str(out)], env=env) == 0
    assert "2 keys written" in capsys.readouterr().err
    assert out.read_text() == exported

    signer = Keyring(tmp_path / "signing").active_signer()
    cp = Checkpoint(
        origin="audit-ledger.local/log", size=1, root=bytes(32), timestamp="2999-01-01T00:00:00.000Z",
        first=0, manifest=bytes(32), previous=ZERO_HASH,
    )  # fmt: skip
    assert open_checkpoint(sign_checkpoint(cp, [signer]), load_trusted(out.read_text())) == cp


def test_init_with_a_name_and_private_key_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "init", "--name", "casino.example/ledger"], env=_env(tmp_path)) == 0
    assert "casino.example/ledger+" in capsys.readouterr().out
    ring = json.loads((tmp_path / "signing" / "keyring.json").read_text())
    key_file = tmp_path / "signing" / ring["keys"][0]["private_key_file"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "signing").stat().st_mode) == 0o700


def test_init_twice_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = _env(tmp_path)
    assert main(["keys", "init"], env=env) == 0
    before = (tmp_path / "signing" / "keyring.json").read_bytes()
    capsys.readouterr()
    assert main(["keys", "init"], env=env) == EXIT_INPUT
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("ledger keys: LEDGER_SIGNING_DIR: a signing keyring already exists")
    assert (tmp_path / "signing" / "keyring.json").read_bytes() == before


@pytest.mark.parametrize("command", [["rotate"], ["export-public"]])
def test_without_a_keyring_the_error_says_how_to_create_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main(["keys", *command], env=_env(tmp_path)) == EXIT_INPUT
    assert "ledger keys init" in _one_line(capsys.readouterr().err)


def test_bad_key_name_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "init", "--name", "a+b"], env=_env(tmp_path)) == EXIT_INPUT
    assert _one_line(capsys.readouterr().err).startswith("ledger keys: name: ")


def test_unwritable_export_target_is_a_storage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path)
    assert main(["keys", "init"], env=env) == 0
    target = str(tmp_path / "missing" / "dir" / "trusted.keys")
    assert main(["keys", "export-public", "--out", target], env=env) == EXIT_STORAGE
    assert "cannot write" in _one_line(capsys.readouterr().err)


def test_settings_and_wiring() -> None:
    s = Settings.from_env({})
    assert isinstance(s.worm, LocalWorm)
    assert (s.signing_dir, s.origin, s.worm.kind, s.worm.dir) == (
        "var/signing", "audit-ledger.local/log", "local", "var/worm",
    )  # fmt: skip
    s3_defaults = S3Worm()
    assert (s3_defaults.endpoint, s3_defaults.bucket, s3_defaults.region) == (
        None, "audit-ledger-checkpoints", "eu-west-1",
    )  # fmt: skip
    assert isinstance(build_worm(s), LocalWormStore)
    assert build_keyring(s).directory == Path("var/signing")
    s3 = Settings.from_env({
        "LEDGER_WORM": "s3", "LEDGER_S3_ENDPOINT": "http://127.0.0.1:9", "LEDGER_S3_BUCKET": "b-1",
        "LEDGER_S3_REGION": "eu-central-1",
    })  # fmt: skip
    store = build_worm(s3)
    assert isinstance(store, S3WormStore)
    assert store.bucket == "b-1"


def test_bad_worm_setting_names_the_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "init"], env=_env(tmp_path, LEDGER_WORM="tape")) == EXIT_INPUT
    assert _one_line(capsys.readouterr().err).startswith("ledger keys: LEDGER_WORM: ")
