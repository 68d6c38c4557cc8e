"""``ledger token issue``: bearer tokens for local use and tests."""

from __future__ import annotations

import argparse
import re
import time
import uuid
from pathlib import Path
from typing import Any

import jwt

from infra.settings import Settings, env_name
from infra.wiring.bootstrap import dev_secret
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
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValidationError(f"unknown role {', '.join(unknown)}; roles: {', '.join(ROLES)}", field="role")
    issued = int(time.time()) if now is None else now
    claims = {
        "sub": sub,
        "roles": roles,
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": issued,
        "exp": issued + ttl,
        "jti": str(uuid.uuid4()),
    }
    auth = settings.auth
    if auth.algorithm == "HS256":
        key: Any = auth.secret or dev_secret(settings)
    else:
        if not auth.private_key_path:
            raise ValidationError("no private key to sign with", field=env_name("auth", "private_key_path"))
        key = Path(auth.private_key_path).read_text()
    return jwt.encode(claims, key, algorithm=auth.algorithm)


def cmd_token_issue(args: argparse.Namespace, settings: Settings) -> int:
    """Print a bearer token for a role (local development and tests)."""
    print(issue_token(settings, roles=args.role, sub=args.sub, ttl=args.ttl))
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the ``ledger`` parser."""
    t = sub.add_parser("token", help="bearer tokens for local use")
    ts = t.add_subparsers(dest="token_command", required=True)
    i = ts.add_parser("issue", help="sign a JWT: --role R --sub S --ttl 1h")
    i.add_argument("--role", action="append", required=True, choices=ROLES, help="repeat for several roles")
    i.add_argument("--sub", required=True, help="the subject (who), e.g. inspector-1")
    i.add_argument("--ttl", type=ttl_seconds, default=3600, help="lifetime: 30s, 15m, 1h, 7d (default 1h)")
    i.set_defaults(fn=cmd_token_issue)
