"""One frozen Settings, built once from a mapping (the environment, or a test's dict).

Nothing reads ``os.environ`` at import time; :func:`Settings.from_env` is called by the
composition root with the mapping it is given. Defaults are the embedded store: SQLite
under ``var/`` and a local key-encryption key file created on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec

from ledger.errors import ValidationError

_ENV = {
    "store": "LEDGER_STORE",
    "sqlite_path": "LEDGER_SQLITE_PATH",
    "keys_path": "LEDGER_KEYS_PATH",
    "pg_dsn": "LEDGER_PG_DSN",
    "pg_schema": "LEDGER_PG_SCHEMA",
    "pg_pool_size": "LEDGER_PG_POOL_SIZE",
    "kek": "LEDGER_KEK",
    "kek_path": "LEDGER_KEK_FILE",
    "group_commit": "LEDGER_GROUP_COMMIT",
}


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything configurable; each field has the environment variable named in ``_ENV``."""

    store: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_path: str = "var/ledger.sqlite3"
    keys_path: str = "var/keys.sqlite3"
    pg_dsn: str = "dbname=test host=/var/run/postgresql user=postgres"
    pg_schema: str = msgspec.field(default="ledger")
    pg_pool_size: int = 4
    kek: str | None = None
    kek_path: str = "var/kek.key"
    group_commit: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from ``LEDGER_*`` variables in ``env``.

        Raises:
            ValidationError: a variable has a bad value (the field names the variable).
        """
        raw: dict[str, object] = {}
        for name, var in _ENV.items():
            if var in env and env[var] != "":
                raw[name] = env[var]
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as e:
            text = str(e)
            at = text.rpartition("$.")[2].rstrip("`") if "$." in text else ""
            reason = text.partition(" - at ")[0]
            raise ValidationError(f"{reason}", field=_ENV.get(at, "settings")) from None
