"""One frozen Settings, built once from a mapping (the environment, or a test's dict).

Nothing reads ``os.environ`` at import time; :func:`Settings.from_env` is called by the
composition root with the mapping it is given. Defaults are the embedded store: SQLite
under ``var/`` and a local key-encryption key file created on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

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
    "projection_batch": "LEDGER_PROJECTION_BATCH",
    "projection_poll": "LEDGER_PROJECTION_POLL",
    "signing_dir": "LEDGER_SIGNING_DIR",
    "origin": "LEDGER_ORIGIN",
    "jurisdiction": "LEDGER_JURISDICTION",
    "seal_every": "LEDGER_SEAL_EVERY",
    "seal_interval": "LEDGER_SEAL_INTERVAL",
    "verify_interval": "LEDGER_VERIFY_INTERVAL",
    "worm": "LEDGER_WORM",
    "worm_dir": "LEDGER_WORM_DIR",
    "s3_endpoint": "LEDGER_S3_ENDPOINT",
    "s3_bucket": "LEDGER_S3_BUCKET",
    "s3_region": "LEDGER_S3_REGION",
    "jwt_algorithm": "LEDGER_JWT_ALGORITHM",
    "jwt_secret": "LEDGER_JWT_SECRET",
    "jwt_secret_path": "LEDGER_JWT_SECRET_FILE",
    "jwt_public_key_path": "LEDGER_JWT_PUBLIC_KEY_FILE",
    "jwt_private_key_path": "LEDGER_JWT_PRIVATE_KEY_FILE",
    "jwt_issuer": "LEDGER_JWT_ISSUER",
    "jwt_audience": "LEDGER_JWT_AUDIENCE",
    "ip_allow": "LEDGER_IP_ALLOW",
    "client_cert_header": "LEDGER_CLIENT_CERT_HEADER",
    "client_cert_roles": "LEDGER_CLIENT_CERT_ROLES",
    "trusted_proxies": "LEDGER_TRUSTED_PROXIES",
    "sandbox_path": "LEDGER_SANDBOX_PATH",
    "sandbox_events": "LEDGER_SANDBOX_EVENTS",
    "serve_host": "LEDGER_HOST",
    "serve_port": "LEDGER_PORT",
    "serve_workers": "LEDGER_WORKERS",
    "trace_sample_ratio": "LEDGER_TRACE_SAMPLE_RATIO",
    "mga_operator": "LEDGER_MGA_OPERATOR",
    "mga_urls": "LEDGER_MGA_URLS",
    "mga_jurisdictions": "LEDGER_MGA_JURISDICTIONS",
}
# MGA's rri:URL pattern (RprtURL) and the envelope's jurisdiction pattern, as comma-separated lists.
_URL = r"(https?://)?([a-zA-Z0-9]+[a-zA-Z0-9-]+\.)+[A-Za-z]{2,7}(/[a-zA-Z0-9-]+)*"
_JURISDICTION = r"[A-Z]{2}(-[A-Z0-9]{1,3})?"


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
    projection_batch: int = 2000  # events per projection transaction (read, fold, commit)
    projection_poll: float = 0.2  # seconds a live projection runner waits when idle
    signing_dir: str = "var/signing"
    origin: str = "audit-ledger.local/log"
    worm: Literal["local", "s3"] = "local"
    worm_dir: str = "var/worm"
    s3_endpoint: str | None = None
    s3_bucket: str = "audit-ledger-checkpoints"
    s3_region: str = "eu-west-1"
    jurisdiction: str = "MT"  # the licence under which the ledger's own events are recorded
    seal_every: int = msgspec.field(default=1000)  # events per checkpoint (the follower's trigger)
    seal_interval: float = 5.0  # seconds before a smaller batch is sealed anyway
    # seconds between full verifications by `ledger verify --follow` (started by `ledger serve`)
    verify_interval: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    # HTTP API: bearer JWTs. HS256 with a secret file (created on first use) is for local
    # development only; production verifies EdDSA or RS256 tokens with a public key (PEM).
    jwt_algorithm: Literal["HS256", "EdDSA", "RS256"] = "HS256"
    jwt_secret: str | None = None
    jwt_secret_path: str = "var/jwt-dev.secret"  # noqa: S105 - a path, not a secret
    jwt_public_key_path: str | None = None
    jwt_private_key_path: str | None = None  # only `ledger token issue` signs with it
    jwt_issuer: str = "audit-ledger.local"
    jwt_audience: str = "audit-ledger-api"
    ip_allow: str = ""  # comma-separated CIDRs allowed to call authenticated routes ("" = any)
    client_cert_header: str | None = None  # header a trusted TLS proxy sets to the client-cert subject
    client_cert_roles: str = ""  # "subject=role;subject=role": client-cert subjects mapped to roles
    trusted_proxies: str = "127.0.0.1/32,::1/128"  # peers whose client-cert header is believed
    sandbox_path: str = "var/sandbox/ledger.sqlite3"  # synthetic demo data only, never production
    sandbox_events: int = 2000
    serve_host: str = "127.0.0.1"
    serve_port: int = 8000
    serve_workers: int = 1
    # Share of new traces recorded (an incoming sampled `traceparent` is always followed).
    trace_sample_ratio: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 1.0
    # MGA reports (docs/reports.md): the header's RprtOprtr (gaming licence id of the reporting
    # operator, at most 4 characters), its RprtURL list, and the licences whose players they cover.
    mga_operator: Annotated[str, msgspec.Meta(min_length=1, max_length=4)] = "DEMO"
    mga_urls: Annotated[str, msgspec.Meta(pattern=rf"^({_URL}(,{_URL})*)?(?!\n)$")] = ""
    mga_jurisdictions: Annotated[
        str, msgspec.Meta(pattern=rf"^{_JURISDICTION}(,{_JURISDICTION})*(?!\n)$")
    ] = "MT"

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
