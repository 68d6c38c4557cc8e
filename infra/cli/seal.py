"""``ledger seal``: extend the Merkle log, sign a checkpoint and anchor it in WORM storage."""

from __future__ import annotations

import argparse
from contextlib import closing
from typing import Any

from infra.cli.common import open_ledger
from infra.settings import Settings
from infra.wiring.bootstrap import build_sealer, open_backend
from ledger.sealer import SealResult, follow


def cmd_seal(args: argparse.Namespace, settings: Settings) -> int:
    """Seal the ledger once (or keep following it with ``--follow``)."""
    with open_ledger(settings) as ledger, closing(open_backend(settings).tree()) as tree_store:
        sealer = build_sealer(settings, ledger, tree_store)
        if args.follow:
            follow(sealer, every=settings.seal_every, interval=settings.seal_interval, report=_said)
            return 0
        _said(sealer.seal())
    return 0


def _said(result: SealResult) -> None:
    cp = result.checkpoint
    if cp is None:
        print(f"seal: nothing new; tree size {result.tree_size}")
    else:
        print(
            f"seal: checkpoint {cp.size} (positions {cp.first}..{cp.size - 1}) root {cp.root.hex()[:16]}… "
            f"signed {cp.timestamp}"
        )
    for r in result.anchored:
        print(f"seal: anchored {r.key} in {r.store} WORM, {r.mode or 'read-only'} until {r.retain_until}")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the ``ledger`` parser."""
    se = sub.add_parser("seal", help="extend the Merkle log, sign a checkpoint and anchor it in WORM storage")
    se.add_argument(
        "--follow",
        action="store_true",
        help="keep sealing (LEDGER_SEAL_EVERY events / LEDGER_SEAL_INTERVAL s)",
    )
    se.set_defaults(fn=cmd_seal)
