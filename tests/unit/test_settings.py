"""Settings come from a mapping in sections, default to the embedded store in one folder, name bad values."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from infra.settings import LocalWorm, PostgresStore, S3Worm, Settings, SqliteStore
from infra.wiring.bootstrap import load_kek, mga_config
from infra.wiring.sandbox import sandbox_settings
from ledger.errors import ValidationError
from projections.mga import MgaConfig


def test_defaults_are_the_embedded_store() -> None:
    s = Settings.from_env({})
    assert isinstance(s.store, SqliteStore)
    assert (s.store.kind, s.store.path, s.group_commit) == ("sqlite", "var/ledger.sqlite3", True)


def test_environment_overrides_and_converts_types() -> None:
    s = Settings.from_env(
        {"LEDGER_STORE": "postgres", "LEDGER_PG_POOL_SIZE": "8", "LEDGER_GROUP_COMMIT": "false"}
    )
    assert isinstance(s.store, PostgresStore)
    assert (s.store.kind, s.store.pool_size, s.group_commit) == ("postgres", 8, False)


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


def test_every_path_derives_from_the_data_folder() -> None:
    s = Settings.from_env({"LEDGER_DATA_DIR": "/srv/ledger"})
    assert isinstance(s.store, SqliteStore)
    assert isinstance(s.worm, LocalWorm)
    assert (s.store.path, s.store.keys_path, s.kek_path, s.signing_dir, s.worm.dir) == (
        "/srv/ledger/ledger.sqlite3",
        "/srv/ledger/keys.sqlite3",
        "/srv/ledger/kek.key",
        "/srv/ledger/signing",
        "/srv/ledger/worm",
    )
    assert (s.auth.secret_path, s.sandbox_path) == (
        "/srv/ledger/jwt-dev.secret",
        "/srv/ledger/sandbox/ledger.sqlite3",
    )
    assert (
        Settings.from_env({"LEDGER_DATA_DIR": "/srv/ledger", "LEDGER_KEK_FILE": "/run/kek"}).kek_path
        == "/run/kek"
    )


def test_the_other_kinds_variables_are_checked_then_left_out() -> None:
    s = Settings.from_env(
        {"LEDGER_SQLITE_PATH": "x.sqlite3", "LEDGER_S3_BUCKET": "b", "LEDGER_PG_DSN": "dbname=x"}
    )
    assert s.store == SqliteStore(path="x.sqlite3", keys_path="var/keys.sqlite3")
    assert s.worm == LocalWorm(dir="var/worm")
    s3 = Settings.from_env({"LEDGER_WORM": "s3", "LEDGER_S3_BUCKET": "b", "LEDGER_WORM_DIR": "w"})
    assert s3.worm == S3Worm(bucket="b")
    with pytest.raises(ValidationError) as err:
        Settings.from_env({"LEDGER_STORE": "postgres", "LEDGER_SQLITE_PATH": "x", "LEDGER_PG_POOL_SIZE": "x"})
    assert err.value.field == "LEDGER_PG_POOL_SIZE"


def test_lists_are_parsed_where_they_are_read() -> None:
    s = Settings.from_env(
        {
            "LEDGER_IP_ALLOW": "10.0.0.0/8, ,192.168.0.0/16",
            "LEDGER_TRUSTED_PROXIES": "10.1.1.1/32",
            "LEDGER_CLIENT_CERT_ROLES": "CN=a,O=Reg=auditor;;CN=b=regulator",
        }
    )
    assert s.auth.ip_allow == ("10.0.0.0/8", "192.168.0.0/16")
    assert s.auth.trusted_proxies == ("10.1.1.1/32",)
    assert s.auth.client_cert_roles == {"CN=a,O=Reg": "auditor", "CN=b": "regulator"}
    assert Settings().auth.trusted_proxies == ("127.0.0.1/32", "::1/128")


def test_the_sandbox_lives_in_its_own_folder() -> None:
    s = Settings.from_env({"LEDGER_STORE": "postgres", "LEDGER_WORM": "s3", "LEDGER_KEK": "k"})
    sb = sandbox_settings(s)
    assert sb.store == SqliteStore(path="var/sandbox/ledger.sqlite3", keys_path="var/sandbox/keys.sqlite3")
    assert sb.worm == LocalWorm(dir="var/sandbox/worm")
    assert (sb.kek, sb.kek_path, sb.signing_dir) == (None, "var/sandbox/kek.key", "var/sandbox/signing")
    assert sb.auth.secret_path == "var/jwt-dev.secret"  # noqa: S105 - a path
