"""One frozen Settings in sections, built once from a mapping (the environment, or a test's dict).

Nothing reads ``os.environ`` at import time; :func:`Settings.from_env` is called by the
composition root with the mapping it is given. Defaults are the embedded store: SQLite and
a local WORM folder under one data folder (``LEDGER_DATA_DIR``, default ``var``), from
which every path left unset derives, and a key-encryption key file created on first use.
The store and the WORM store are tagged unions: the composition root matches on them once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec.structs import force_setattr, replace

from ledger.catalogue.types import JURISDICTION_PATTERN
from ledger.errors import ValidationError

# MGA's rri:URL pattern (RprtURL), one list item each; jurisdictions use the envelope's pattern.
_URL = r"(https?://)?([a-zA-Z0-9]+[a-zA-Z0-9-]+\.)+[A-Za-z]{2,7}(/[a-zA-Z0-9-]+)*"
_END = r"(?!\n)$"  # `$` alone would also match before a trailing newline


class SqliteStore(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="sqlite", tag_field="kind"
):
    """The embedded store: one SQLite file for events, tree, views and results; keys apart."""

    kind: ClassVar[str] = "sqlite"
    path: str = ""  # "" = <data_dir>/ledger.sqlite3
    keys_path: str = ""  # "" = <data_dir>/keys.sqlite3


class PostgresStore(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="postgres", tag_field="kind"
):
    """The production store: every table in one PostgreSQL schema."""

    kind: ClassVar[str] = "postgres"
    # A local test database: production always sets LEDGER_PG_DSN (compose, Terraform outputs).
    dsn: str = "dbname=test host=/var/run/postgresql user=postgres"
    schema: str = "ledger"
    pool_size: int = 4


class LocalWorm(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="local", tag_field="kind"
):
    """Checkpoint copies in a local create-only folder."""

    kind: ClassVar[str] = "local"
    dir: str = ""  # "" = <data_dir>/worm


class S3Worm(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="s3", tag_field="kind"
):
    """Checkpoint copies in an S3 bucket under Object Lock."""

    kind: ClassVar[str] = "s3"
    endpoint: str | None = None
    bucket: str = "audit-ledger-checkpoints"
    region: str = "eu-west-1"


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """HTTP API authentication: bearer JWTs, IP allow-list, client certificates behind a TLS proxy.

    HS256 with a secret file (created on first use) is for local development only; production
    verifies EdDSA or RS256 tokens with a public key (PEM).
    """

    algorithm: Literal["HS256", "EdDSA", "RS256"] = "HS256"
    secret: str | None = None
    secret_path: str = ""  # "" = <data_dir>/jwt-dev.secret
    public_key_path: str | None = None
    private_key_path: str | None = None  # only `ledger token issue` signs with it
    issuer: str = "audit-ledger.local"
    audience: str = "audit-ledger-api"
    ip_allow: tuple[str, ...] = ()  # CIDRs allowed to call authenticated routes (() = any)
    client_cert_header: str | None = None  # header a trusted TLS proxy sets to the client-cert subject
    client_cert_roles: dict[str, str] = msgspec.field(default_factory=dict)  # client-cert subject -> role
    trusted_proxies: tuple[str, ...] = ("127.0.0.1/32", "::1/128")  # peers whose cert header is believed


class MgaSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """MGA reports (docs/reports.md): who files them and whose players they cover.

    ``operator`` is the header's RprtOprtr (gaming licence id, at most 4 characters), ``urls``
    its RprtURL list, ``jurisdictions`` the licences whose players the reports cover.
    """

    operator: Annotated[str, msgspec.Meta(min_length=1, max_length=4)] = "DEMO"
    urls: tuple[Annotated[str, msgspec.Meta(pattern=rf"^{_URL}{_END}")], ...] = ()
    jurisdictions: tuple[Annotated[str, msgspec.Meta(pattern=JURISDICTION_PATTERN)], ...] = ("MT",)


class ServeSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``ledger serve``: where to listen, how many workers, where worker metrics meet."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    metrics_dir: str | None = None  # prometheus_client's multiprocess folder, when workers share one


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything configurable; each field has the environment variable named in ``_ENV``."""

    data_dir: str = "var"
    store: SqliteStore | PostgresStore = SqliteStore()
    worm: LocalWorm | S3Worm = LocalWorm()
    auth: AuthSettings = AuthSettings()
    mga: MgaSettings = MgaSettings()
    serve: ServeSettings = ServeSettings()
    kek: str | None = None
    kek_path: str = ""  # "" = <data_dir>/kek.key
    group_commit: bool = True
    projection_batch: int = 2000  # events per projection transaction (read, fold, commit)
    projection_poll: float = 0.2  # seconds a live projection runner waits when idle
    signing_dir: str = ""  # "" = <data_dir>/signing
    origin: str = "audit-ledger.local/log"
    jurisdiction: str = "MT"  # the licence under which the ledger's own events are recorded
    seal_every: int = 1000  # events per checkpoint (the follower's trigger)
    seal_interval: float = 5.0  # seconds before a smaller batch is sealed anyway
    # seconds between full verifications by `ledger verify --follow` (started by `ledger serve`)
    verify_interval: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    sandbox_path: str = ""  # "" = <data_dir>/sandbox/ledger.sqlite3: synthetic demo data only
    sandbox_events: int = 2000
    # Share of new traces recorded (an incoming sampled `traceparent` is always followed).
    trace_sample_ratio: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 1.0

    def __post_init__(self) -> None:
        """Derive every path left unset from ``data_dir``."""
        for name, default in _UNDER_DATA_DIR.items():
            if not getattr(self, name):
                force_setattr(self, name, self.under(default))
        if isinstance(self.store, SqliteStore):
            store = self.store
            force_setattr(
                self,
                "store",
                replace(
                    store,
                    path=store.path or self.under("ledger.sqlite3"),
                    keys_path=store.keys_path or self.under("keys.sqlite3"),
                ),
            )
        if isinstance(self.worm, LocalWorm) and not self.worm.dir:
            force_setattr(self, "worm", LocalWorm(dir=self.under("worm")))
        if not self.auth.secret_path:
            force_setattr(self, "auth", replace(self.auth, secret_path=self.under("jwt-dev.secret")))

    def under(self, relative: str) -> str:
        """Return the path ``relative`` inside the data folder."""
        return str(Path(self.data_dir) / relative)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from ``LEDGER_*`` variables in ``env``.

        Variables of the store or WORM kind not chosen are checked and then left out.

        Raises:
            ValidationError: a variable has a bad value (the field names the variable).
        """
        raw: dict[str, Any] = {}
        for path, var in _ENV.items():
            if env.get(var):
                section = raw
                for key in path[:-1]:
                    section = section.setdefault(key, {})
                section[path[-1]] = _PARSE.get(path, str)(env[var])
        for name, variants in _UNIONS.items():
            given = raw.pop(name, {})
            kind = given.pop("kind", variants[0].kind)
            for variant in variants:  # every kind's variables are checked, whichever is chosen
                mine = {k: v for k, v in given.items() if k in variant.__struct_fields__}
                _convert({name: {**mine, "kind": variant.kind}}, _one(name, variant))
            fields = next((v.__struct_fields__ for v in variants if v.kind == kind), ())
            raw[name] = {"kind": kind, **{k: v for k, v in given.items() if k in fields}}
        settings: Settings = _convert(raw, cls)
        return settings


def _convert(raw: Mapping[str, Any], into: type[Any]) -> Any:
    try:
        return msgspec.convert(raw, into, strict=False)
    except msgspec.ValidationError as e:
        text = str(e)
        at = text.rpartition("$.")[2].rstrip("`") if "$." in text else ""
        path = tuple(part.partition("[")[0] for part in at.split("."))
        reason = text.partition(" - at ")[0]
        raise ValidationError(f"{reason}", field=_ENV.get(path, "settings")) from None


def _one(name: str, variant: type[Any]) -> type[Any]:
    """A one-field struct holding ``variant`` under ``name``: to check one kind's variables alone."""
    return msgspec.defstruct("_Check", [(name, variant)], frozen=True, forbid_unknown_fields=True)


def _split(text: str) -> list[str]:
    return text.split(",")


def _nonblank(text: str) -> list[str]:
    return [c for c in text.split(",") if c.strip()]


def _roles(text: str) -> dict[str, str]:
    """Parse ``subject=role;subject=role`` (a subject may itself contain ``=``)."""
    roles = {}
    for item in text.split(";"):
        subject, sep, role = item.rpartition("=")
        if sep and subject.strip():
            roles[subject.strip()] = role.strip()
    return roles


def from_process_env() -> Settings:
    """Build settings from this process's environment (the CLI's and the server workers' root)."""
    return Settings.from_env(os.environ)


def share_with_workers(values: Mapping[tuple[str, ...], str]) -> None:
    """Write settings (by path, e.g. ``("sandbox_events",)``) into the environment children inherit.

    The server's worker processes build their own Settings from the environment
    (``infra.wiring.asgi``), and prometheus_client picks its value store from it when first
    imported: the two reasons a setting is ever written back there.
    """
    for path, value in values.items():
        os.environ[_ENV[path]] = value


_UNDER_DATA_DIR = {"kek_path": "kek.key", "signing_dir": "signing", "sandbox_path": "sandbox/ledger.sqlite3"}
_UNIONS: dict[str, tuple[type[Any], ...]] = {
    "store": (SqliteStore, PostgresStore),
    "worm": (LocalWorm, S3Worm),
}
_PARSE: dict[tuple[str, ...], Callable[[str], Any]] = {
    ("auth", "ip_allow"): _nonblank,
    ("auth", "trusted_proxies"): _nonblank,
    ("auth", "client_cert_roles"): _roles,
    ("mga", "urls"): _split,
    ("mga", "jurisdictions"): _split,
}
_ENV: dict[tuple[str, ...], str] = {
    ("data_dir",): "LEDGER_DATA_DIR",
    ("store", "kind"): "LEDGER_STORE",
    ("store", "path"): "LEDGER_SQLITE_PATH",
    ("store", "keys_path"): "LEDGER_KEYS_PATH",
    ("store", "dsn"): "LEDGER_PG_DSN",
    ("store", "schema"): "LEDGER_PG_SCHEMA",
    ("store", "pool_size"): "LEDGER_PG_POOL_SIZE",
    ("kek",): "LEDGER_KEK",
    ("kek_path",): "LEDGER_KEK_FILE",
    ("group_commit",): "LEDGER_GROUP_COMMIT",
    ("projection_batch",): "LEDGER_PROJECTION_BATCH",
    ("projection_poll",): "LEDGER_PROJECTION_POLL",
    ("signing_dir",): "LEDGER_SIGNING_DIR",
    ("origin",): "LEDGER_ORIGIN",
    ("jurisdiction",): "LEDGER_JURISDICTION",
    ("seal_every",): "LEDGER_SEAL_EVERY",
    ("seal_interval",): "LEDGER_SEAL_INTERVAL",
    ("verify_interval",): "LEDGER_VERIFY_INTERVAL",
    ("worm", "kind"): "LEDGER_WORM",
    ("worm", "dir"): "LEDGER_WORM_DIR",
    ("worm", "endpoint"): "LEDGER_S3_ENDPOINT",
    ("worm", "bucket"): "LEDGER_S3_BUCKET",
    ("worm", "region"): "LEDGER_S3_REGION",
    ("auth", "algorithm"): "LEDGER_JWT_ALGORITHM",
    ("auth", "secret"): "LEDGER_JWT_SECRET",
    ("auth", "secret_path"): "LEDGER_JWT_SECRET_FILE",
    ("auth", "public_key_path"): "LEDGER_JWT_PUBLIC_KEY_FILE",
    ("auth", "private_key_path"): "LEDGER_JWT_PRIVATE_KEY_FILE",
    ("auth", "issuer"): "LEDGER_JWT_ISSUER",
    ("auth", "audience"): "LEDGER_JWT_AUDIENCE",
    ("auth", "ip_allow"): "LEDGER_IP_ALLOW",
    ("auth", "client_cert_header"): "LEDGER_CLIENT_CERT_HEADER",
    ("auth", "client_cert_roles"): "LEDGER_CLIENT_CERT_ROLES",
    ("auth", "trusted_proxies"): "LEDGER_TRUSTED_PROXIES",
    ("sandbox_path",): "LEDGER_SANDBOX_PATH",
    ("sandbox_events",): "LEDGER_SANDBOX_EVENTS",
    ("serve", "host"): "LEDGER_HOST",
    ("serve", "port"): "LEDGER_PORT",
    ("serve", "workers"): "LEDGER_WORKERS",
    ("serve", "metrics_dir"): "PROMETHEUS_MULTIPROC_DIR",
    ("trace_sample_ratio",): "LEDGER_TRACE_SAMPLE_RATIO",
    ("mga", "operator"): "LEDGER_MGA_OPERATOR",
    ("mga", "urls"): "LEDGER_MGA_URLS",
    ("mga", "jurisdictions"): "LEDGER_MGA_JURISDICTIONS",
}


def env_name(*path: str) -> str:
    """Return the environment variable of the setting at ``path`` (for error fields)."""
    return _ENV[path]
