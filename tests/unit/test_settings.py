"""Settings come from a mapping, default to the embedded store, and name bad variables."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from infra.settings import Settings
from infra.wiring.bootstrap import load_kek, mga_config
from ledger.errors import ValidationError
from projections.mga import MgaConfig


def test_defaults_are_the_embedded_store() -> None:
    s = Settings.from_env({})
    assert (s.store, s.sqlite_path, s.group_commit) == ("sqlite", "var/ledger.sqlite3", True)


def test_environment_overrides_and_converts_types() -> None:
    s = Settings.from_env(
        {"LEDGER_STORE": "postgres", "LEDGER_PG_POOL_SIZE": "8", "LEDGER_GROUP_COMMIT": "false"}
    )
    assert (s.store, s.pg_pool_size, s.group_commit) == ("postgres", 8, False)


@pytest.mark.parametrize(
    ("var", "value"),
    [("LEDGER_STORE", "oracle"), ("LEDGER_PG_POOL_SIZE", "many"), ("LEDGER_GROUP_COMMIT", "perhaps")],
)
def test_bad_value_names_the_variable(var: str, value: str) -> None:
    with pytest.raises(ValidationError) as err:
        Settings.from_env({var: value})
    assert err.value.field == var


def test_kek_file_is_created_once_and_reused(tmp_path: Path) -> None:
    s = Settings.from_env({"LEDGER_KEK_FILE": str(tmp_path / "kek.key")})
    first = load_kek(s)
    assert len(first) == 32
    assert load_kek(s) == first
    assert (tmp_path / "kek.key").stat().st_mode & 0o077 == 0


def test_configured_kek_must_be_32_bytes() -> None:
    good = base64.b64encode(bytes(32)).decode()
    assert load_kek(Settings(kek=good)) == bytes(32)
    with pytest.raises(ValidationError) as err:
        load_kek(Settings(kek=base64.b64encode(b"short").decode()))
    assert err.value.field == "LEDGER_KEK"


def test_mga_settings_build_the_report_config() -> None:
    assert mga_config(Settings.from_env({})) == MgaConfig("DEMO", (), ("MT",))
    s = Settings.from_env(
        {
            "LEDGER_MGA_OPERATOR": "A123",
            "LEDGER_MGA_URLS": "https://casino.example.com,casino.example.org/mt",
            "LEDGER_MGA_JURISDICTIONS": "MT,GB",
        }
    )
    assert mga_config(s) == MgaConfig(
        "A123", ("https://casino.example.com", "casino.example.org/mt"), ("MT", "GB")
    )
    for var, value in (
        ("LEDGER_MGA_OPERATOR", "ABCDE"),
        ("LEDGER_MGA_URLS", "casino.example.com,not a url"),
        ("LEDGER_MGA_JURISDICTIONS", "MT,gb"),
        ("LEDGER_MGA_JURISDICTIONS", "MT\n"),
    ):
        with pytest.raises(ValidationError) as err:
            Settings.from_env({var: value})
        assert err.value.field == var
