"""``ledger serve``: the HTTP API under granian, with followers (projections, verification, sealing)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Any

import msgspec

from infra.cli.common import positive
from infra.settings import Settings, share_with_workers
from infra.wiring.sandbox import catch_up_views, prepare_sandbox


def _followers(args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    """Background processes: projections, full verification (and, with --seal, checkpoints) kept current."""
    ledger = [sys.executable, "-c", "from infra.cli.main import run; run()"]
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
    host = args.host or settings.serve.host
    port = args.port or settings.serve.port
    workers = args.workers or settings.serve.workers
    # Before prometheus_client is first imported: it picks its value store at import time.
    metrics_dir = Path(tempfile.mkdtemp(prefix="ledger-metrics-"))
    share_with_workers({("serve", "metrics_dir"): str(metrics_dir)})
    if args.no_sandbox:
        share_with_workers({("sandbox_events",): "0"})  # the workers build their own settings
        settings = msgspec.structs.replace(settings, sandbox_events=0)
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
    # Only `serve` starts the server: other commands need not load granian's native module.
    from granian.constants import Interfaces  # noqa: PLC0415
    from granian.server import Server  # noqa: PLC0415

    Server(
        "infra.wiring.asgi:app",
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
