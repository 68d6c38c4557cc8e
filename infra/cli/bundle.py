"""``ledger`` sub-commands for evidence bundles: ``export`` and ``verify-bundle``."""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from infra.cli.common import EXIT_VERIFY, out
from infra.cli.projections import open_runner
from infra.clock import SystemClock
from infra.files import write_atomic
from infra.settings import Settings
from infra.signing import load_trusted
from infra.wiring.bootstrap import build_keyring, open_backend
from ledger.bundle import BundleError, ExportScope, export_bundle, verify_bundle
from ledger.catalogue.types import Timestamp
from ledger.errors import NotFoundError, StorageError
from ledger.merkle_log import MerkleLog
from projections.rounds import reconstruct_round


def _range(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"([0-9]+):([0-9]+)", text)
    if m is None or int(m[1]) >= int(m[2]):
        msg = "expected START:END with 0 <= START < END (global positions, END excluded)"
        raise argparse.ArgumentTypeError(msg)
    return int(m[1]), int(m[2])


def _scope(args: argparse.Namespace, settings: Settings) -> ExportScope:
    if args.stream is not None:
        return ExportScope.stream(args.stream)
    if args.round is not None:
        # The round projection links the round's other events (jackpot contribution, trigger
        # and payout, wallet movements) by position; the Round stream alone would miss them.
        with open_runner(settings) as runner:
            try:
                positions = reconstruct_round(runner.views, args.round)["positions"]
            except NotFoundError:
                positions = []
        return ExportScope.round(args.round, positions)
    start, end = args.range
    return ExportScope.range(start, end)


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        msg = f"cannot read {what} {path}: {e.strerror}"
        raise StorageError(msg) from None


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write a self-contained evidence bundle (one zip) for a stream, round or range."""
    scope = _scope(args, settings)
    try:
        keyring = build_keyring(settings).export_public()
    except NotFoundError:  # informational in a bundle; the checkpoints say whether sealing ever ran
        keyring = "# no signing keyring was available to the exporter\n"
    created_at = Timestamp.from_epoch_ms(SystemClock().now_ms()).canonical()
    backend = open_backend(settings)
    with closing(backend.events()) as store, closing(backend.tree()) as tree_store:
        data, summary = export_bundle(
            store,
            MerkleLog(tree_store),
            tree_store,
            keyring,
            scope,
            origin=settings.origin,
            created_at=created_at,
        )
    path = Path(args.out) if args.out else Path(settings.under("bundles")) / f"{scope.label}.zip"
    write_atomic(path, data)
    print(path)
    print(
        f"export: {summary.scope}: {summary.scope_events} events in scope, {summary.events} events in "
        f"{summary.streams} streams (chains from genesis), {summary.checkpoints} checkpoints "
        f"(latest {summary.checkpoint_size}), {summary.receipts} WORM receipts; {len(data):,} bytes"
    )
    if summary.reason:
        print(f"export: left out: {summary.reason}", file=sys.stderr)
    return 0


def cmd_verify_bundle(args: argparse.Namespace, settings: Settings) -> int:  # noqa: ARG001
    """Verify a bundle offline (no database, no network) against the trusted keys only."""
    verifiers = load_trusted(_read(args.trusted_key, "trusted-key file").decode(errors="replace"))
    data = _read(args.bundle, "bundle")
    try:
        report = verify_bundle(data, verifiers)
    except BundleError as e:
        if args.json:
            out({"ok": False, "failure": e.as_dict()})
        else:
            print(f"verify-bundle: FAILED: {_located(e)}", file=sys.stderr)
        return EXIT_VERIFY
    if args.json:
        out({"ok": True} | vars(report))
        return 0
    print(
        f"verify-bundle: OK: {report.scope} ({report.scope_events} events): {report.events} events in "
        f"{report.streams} complete chains, {report.checkpoints} signed checkpoints (latest "
        f"{report.latest_checkpoint}, origin {report.origin}), {report.receipts} WORM receipts "
        f"verified offline in {report.seconds * 1000:,.0f} ms"
    )
    return 0


def _located(e: BundleError) -> str:
    where = [
        f"{k} {v}"
        for k, v in (
            ("file", e.file),
            ("event", e.position),
            ("stream", e.stream),
            ("checkpoint", e.checkpoint),
        )
        if v is not None
    ]
    said = [("expected", e.expected), ("found", e.found)]
    facts = [f"{k} {v}" for k, v in said if v is not None and v not in e.message]
    located = f" [{', '.join(where)}]" if where else ""
    detail = f"; {', '.join(facts)}" if facts else ""
    return f"{e.message}{located}{detail}".replace("\n", " ")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the ``ledger`` parser."""
    e = sub.add_parser("export", help="write an evidence bundle (zip) for a stream, a round or a range")
    scope = e.add_mutually_exclusive_group(required=True)
    scope.add_argument("--stream", help="a stream, e.g. BonusRule:br-welcome")
    scope.add_argument("--round", help="a round id: its Round stream plus the events linked to it")
    scope.add_argument("--range", type=_range, metavar="START:END", help="global positions [START, END)")
    e.add_argument("--out", help="output file (default <LEDGER_DATA_DIR>/bundles/<scope>.zip)")
    e.set_defaults(fn=cmd_export)
    v = sub.add_parser("verify-bundle", help="verify an evidence bundle offline against trusted keys")
    v.add_argument("bundle", help="the bundle zip")
    v.add_argument("--trusted-key", required=True, help="trusted-key file (`ledger keys export-public`)")
    v.add_argument("--json", action="store_true")
    v.set_defaults(fn=cmd_verify_bundle)
