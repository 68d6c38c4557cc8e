"""``ledger verify``: recompute the whole ledger, or show the last stored result."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import closing
from typing import Any

from infra.cli.common import EXIT_VERIFY, out, positive, progress
from infra.settings import Settings
from infra.verification import ResultStore, follow
from infra.wiring.bootstrap import build_verification, open_backend
from ledger.errors import NotFoundError


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute every chain, the Merkle tree and every checkpoint; exit 1 naming the first fault.

    The result is stored for ``GET /ledger/verification``; ``--follow`` repeats it every
    ``LEDGER_VERIFY_INTERVAL`` seconds (exit codes then only for configuration or storage errors).
    Only the events, the tree, the public keyring and the WORM store are opened: verification
    reads stored bytes and never decrypts, so it needs no KEK (nor any private key).
    """
    backend = open_backend(settings)
    if args.last:
        with closing(backend.results()) as results:
            result = _last(results)
    else:
        with (
            closing(backend.events()) as store,
            closing(backend.tree()) as tree,
            closing(backend.results()) as results,
        ):
            log = build_verification(
                settings, backend, store, tree, results, processes=args.processes, pause_gc=True
            )
            if args.follow:
                follow(log, interval=settings.verify_interval, report=_verified)
                return 0
            with progress(store.size(), "verify") as bar:
                result = log.run(bar.update)
    if args.json:
        out(result)
    else:
        _verified(result, last=args.last)
    return 0 if result["ok"] else EXIT_VERIFY


def _last(results: ResultStore) -> dict[str, Any]:
    result = results.last()
    if result is None:
        raise NotFoundError("no full verification has run yet", field="verification")
    return result


def _verified(result: dict[str, Any], *, last: bool = False) -> None:
    said = f"verify (last run, finished {result['finished_at']})" if last else "verify"
    if not result["ok"]:
        print(f"{said}: FAILED: {result['failure']['message']}", file=sys.stderr, flush=True)
        return
    rate = result["events"] / result["seconds"] if result["seconds"] else 0.0
    print(
        f"{said}: OK: {result['events']} events in {result['streams']} streams, chains and heads intact; "
        f"{result['checkpoints']} signed checkpoints match the recomputed Merkle roots and their "
        f"{result['worm_objects']} WORM copies ({rate:,.0f} events/s)",
        flush=True,
    )


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the ``ledger`` parser."""
    v = sub.add_parser("verify", help="recompute every chain, tree node, checkpoint and WORM copy")
    v.add_argument("--json", action="store_true")
    mode = v.add_mutually_exclusive_group()
    mode.add_argument(
        "--follow", action="store_true", help="verify again every LEDGER_VERIFY_INTERVAL seconds"
    )
    mode.add_argument("--last", action="store_true", help="show the last stored result instead of verifying")
    v.add_argument(
        "--processes",
        type=positive,
        default=os.cpu_count() or 1,
        help="check ranges of a large ledger side by side in this many processes (default: one per CPU)",
    )
    v.set_defaults(fn=cmd_verify)
