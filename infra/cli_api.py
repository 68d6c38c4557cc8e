"""``ledger`` sub-commands for the HTTP service: ``serve`` and ``token issue``."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

from infra.settings import Settings
from ledger.errors import ValidationError
from policies.rbac import ROLES

_TTL = re.compile(r"^([1-9][0-9]*)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def ttl_seconds(text: str) -> int:
    """An argparse type: ``30s``, ``15m``, ``1h``, ``7d``."""
    m = _TTL.match(text)
    if m is None:
        msg = "expected a duration like 30s, 15m, 1h or 7d"
        raise argparse.ArgumentTypeError(msg)
    return int(m[1]) * _UNITS[m[2]]


def issue_token(settings: Settings, *, roles: list[str], sub: str, ttl: int, now: int | None = None) -> str:
    """Sign a bearer JWT for local use (HS256 dev secret, or the EdDSA/RS256 private key file).

    Raises:
        ValidationError: an unknown role, or no signing key for the configured algorithm.
    """
    import jwt  # noqa: PLC0415 - only token issuing needs PyJWT directly

    from infra.api_wiring import dev_secret  # noqa: PLC0415

    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValidationError(f"unknown role {', '.join(unknown)}; roles: {', '.join(ROLES)}", field="role")
    issued = int(time.time()) if now is None else now
    claims = {
        "sub": sub,
        "roles": roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "exp": issued + ttl,
        "jti": str(uuid.uuid4()),
    }
    if settings.jwt_algorithm == "HS256":
        key: Any = settings.jwt_secret or dev_secret(settings)
    else:
        if not settings.jwt_private_key_path:
            raise ValidationError("no private key to sign with", field="LEDGER_JWT_PRIVATE_KEY_FILE")
        key = Path(settings.jwt_private_key_path).read_text()
    return jwt.encode(claims, key, algorithm=settings.jwt_algorithm)


def cmd_token_issue(args: argparse.Namespace, settings: Settings) -> int:
    """Print a bearer token for a role (local development and tests)."""
    print(issue_token(settings, roles=args.role, sub=args.sub, ttl=args.ttl))
    return 0


def _followers(args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    """Background processes: projections, full verification (and, with --seal, checkpoints) kept current."""
    ledger = [sys.executable, "-c", "from infra.cli import run; run()"]
    procs = []
    if not args.no_projections:
        procs.append(subprocess.Popen([*ledger, "projections", "run", "--follow"], stdout=subprocess.DEVNULL))  # noqa: S603
    if args.seal:
        procs.append(subprocess.Popen([*ledger, "seal", "--follow"], stdout=subprocess.DEVNULL))  # noqa: S603
    if not args.no_verify:
        verify = [*ledger, "verify", "--follow", "--processes", "1"]  # beside the workers: one core
        procs.append(subprocess.Popen(verify, stdout=subprocess.DEVNULL))  # noqa: S603
    return procs


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the API with granian (``--workers`` processes), projections followed in the background."""
    host = args.host or settings.serve_host
    port = args.port or settings.serve_port
    workers = args.workers or settings.serve_workers
    # Before prometheus_client is first imported: it picks its value store at import time.
    metrics_dir = Path(tempfile.mkdtemp(prefix="ledger-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    from infra.api_wiring import catch_up_views, prepare_sandbox  # noqa: PLC0415

    if args.no_sandbox:
        os.environ["LEDGER_SANDBOX_EVENTS"] = "0"
        settings = Settings.from_env(os.environ)
    else:
        n = prepare_sandbox(settings)
        print(
            f"serve: sandbox ledger ready ({n} synthetic events in {settings.sandbox_path})", file=sys.stderr
        )
    if not args.no_projections:
        catch_up_views(settings)
    procs = _followers(args)
    print(
        f"serve: http://{host}:{port}  (OpenAPI: http://{host}:{port}/schema)  workers={workers}",
        file=sys.stderr,
    )
    try:
        _granian(host, port, workers, args.log_access)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            with suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _granian(host: str, port: int, workers: int, log_access: bool) -> None:
    from granian.constants import Interfaces  # noqa: PLC0415
    from granian.server import Server  # noqa: PLC0415

    Server(
        "infra.serve:app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        log_access=log_access,
        workers_kill_timeout=5,
    ).serve()


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the ``ledger`` parser."""
    from infra.cli_common import positive  # noqa: PLC0415

    s = sub.add_parser("serve", help="serve the HTTP API (granian; LEDGER_HOST/PORT/WORKERS)")
    s.add_argument("--host", help="listen address (default LEDGER_HOST or 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default LEDGER_PORT or 8000)")
    s.add_argument("--workers", type=positive, help="worker processes (default LEDGER_WORKERS or 1)")
    s.add_argument("--seal", action="store_true", help="also seal continuously (`ledger seal --follow`)")
    s.add_argument("--no-projections", action="store_true", help="do not follow projections")
    s.add_argument(
        "--no-verify",
        action="store_true",
        help="do not verify the whole ledger every LEDGER_VERIFY_INTERVAL s",
    )
    s.add_argument("--no-sandbox", action="store_true", help="do not serve /sandbox/regulator")
    s.add_argument("--log-access", action="store_true", help="log every request")
    s.set_defaults(fn=cmd_serve)
    t = sub.add_parser("token", help="bearer tokens for local use")
    ts = t.add_subparsers(dest="token_command", required=True)
    i = ts.add_parser("issue", help="sign a JWT: --role R --sub S --ttl 1h")
    i.add_argument("--role", action="append", required=True, choices=ROLES, help="repeat for several roles")
    i.add_argument("--sub", required=True, help="the subject (who), e.g. inspector-1")
    i.add_argument("--ttl", type=ttl_seconds, default=3600, help="lifetime: 30s, 15m, 1h, 7d (default 1h)")
    i.set_defaults(fn=cmd_token_issue)
