#!/usr/bin/env python3
"""Run a full verification through the API on a schedule: ``POST /admin/verification``.

The API stores each result, so ``ledger_verification_ok`` and ``ledger_verification_age_seconds``
on ``/metrics`` (and the alerts on them) reflect the latest run. Nothing else in a deployment
starts a full verification, so this runs as its own small process (compose service ``verifier``).

    ledger-verifier URL [--every SECONDS] [--once] [--timeout SECONDS] [--token-file FILE]

The bearer token (role ``admin``) is read from ``--token-file`` on every run (so an identity
provider can refresh it), or else signed from the ``LEDGER_JWT_*`` settings like
``ledger token issue``. With ``--once`` the exit code is 0 verified, 1 verification failed,
3 the API did not answer or refused; without it every outcome is printed and the next run
follows ``--every`` seconds after this one started.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from infra.cli_api import issue_token
from infra.settings import Settings
from ledger.errors import LedgerError

EXIT_OK, EXIT_FAILED, EXIT_UNAVAILABLE = 0, 1, 3


def bearer(token_file: str | None, env: Mapping[str, str]) -> str:
    """Return an admin token: the file's content, or one signed from the settings for 15 minutes."""
    if token_file:
        return Path(token_file).read_text(encoding="utf-8").strip()
    return issue_token(Settings.from_env(env), roles=["admin"], sub="verifier", ttl=900)


def verify_once(url: str, token: str, timeout: float) -> tuple[int, str]:
    """Ask the API for a full verification; return (exit code, one line saying what happened)."""
    request = urllib.request.Request(  # noqa: S310 - the operator gives the URL
        url.rstrip("/") + "/admin/verification",
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = json.loads(response.read())
    except urllib.error.HTTPError as e:
        return EXIT_UNAVAILABLE, f"HTTP {e.code}: {e.read().decode(errors='replace')[:300]}"
    except (OSError, ValueError) as e:
        return EXIT_UNAVAILABLE, f"no answer from {url}: {e}"
    result = body.get("result", {})
    if body.get("ok"):
        return EXIT_OK, (
            f"OK at {body.get('finished_at')}: {result.get('events')} events, "
            f"{result.get('checkpoints')} checkpoints, {result.get('worm_objects')} WORM objects"
        )
    failure = result.get("failure", {})
    return EXIT_FAILED, f"FAILED at {body.get('finished_at')}: {failure.get('message', failure)}"


def parser() -> argparse.ArgumentParser:
    """The command line (compose.yaml's ``verifier`` service passes its arguments)."""
    p = argparse.ArgumentParser(prog="ledger-verifier", description="Run a full verification on a schedule.")
    p.add_argument("url", help="the API's base URL, e.g. http://api:8000")
    p.add_argument("--every", type=float, default=6 * 3600, help="seconds between runs (default 6 h)")
    p.add_argument("--once", action="store_true", help="run once; the exit code tells the outcome")
    p.add_argument("--timeout", type=float, default=4 * 3600, help="seconds one verification may take")
    p.add_argument("--token-file", help="a file holding an admin bearer token (re-read every run)")
    return p


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Verify once, or forever on a schedule."""
    args = parser().parse_args(argv)
    env = os.environ if env is None else env
    while True:
        started = time.monotonic()
        try:
            code, line = verify_once(args.url, bearer(args.token_file, env), args.timeout)
        except (LedgerError, OSError) as e:
            code, line = EXIT_UNAVAILABLE, f"no token: {e}"
        print(f"verifier: {line}", file=sys.stdout if code == EXIT_OK else sys.stderr, flush=True)
        if args.once:
            return code
        time.sleep(max(0.0, args.every - (time.monotonic() - started)))


if __name__ == "__main__":
    sys.exit(main())
