"""The ``ledger`` command line: demo data, append, history, verify, catalogue, erase.

Errors are one readable line on stderr and a non-zero exit code, never a traceback:
1 verification failed, 2 bad input or configuration, 3 storage or internal failure.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import closing
from typing import IO, Any

import msgspec

from infra import cli_api, cli_bundle, cli_projections, cli_proofs, verification
from infra.bootstrap import build_sealer, build_store, build_tree_store
from infra.cli_common import (
    EXIT_INPUT,
    EXIT_STORAGE,
    EXIT_VERIFY,
    chunks,
    open_ledger,
    out,
    positive,
    progress,
)
from infra.settings import Settings
from ledger.application import decode_events
from ledger.errors import LedgerError, NotFoundError, StorageError, VerificationError
from ledger.sealer import SealResult, follow


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Append a deterministic synthetic operator history."""
    from infra.demo import demo_events  # noqa: PLC0415 - only the demo needs it

    new = dup = 0
    with open_ledger(settings) as ledger, progress(args.events, "demo") as bar:
        for receipts in ledger.append_all(chunks(demo_events(args.events, seed=args.seed), args.batch)):
            dup += sum(r.duplicate for r in receipts)
            new += sum(not r.duplicate for r in receipts)
            bar.update(len(receipts))
        size = ledger.store.size()
    print(
        f"demo: {new} events appended, {dup} already present (seed {args.seed}); ledger holds {size} events"
    )
    return 0


def _read_lines(path: str) -> list[bytes]:
    if path == "-":
        return sys.stdin.buffer.read().splitlines()
    try:
        with open(path, "rb") as f:  # noqa: PTH123
            return f.read().splitlines()
    except OSError as e:
        msg = f"cannot read {path}: {e.strerror}"
        raise StorageError(msg) from None


def cmd_append(args: argparse.Namespace, settings: Settings) -> int:
    """Append NDJSON events: validate the whole input first, then append in atomic batches."""
    events = decode_events(_read_lines(args.file))
    with open_ledger(settings) as ledger:
        for i in range(0, len(events), args.batch):
            ledger.validate(events[i : i + args.batch], offset=i)
        new = dup = 0
        with progress(len(events), "append") as bar:
            chunks = (events[i : i + args.batch] for i in range(0, len(events), args.batch))
            for receipts in ledger.append_all(chunks):
                dup += sum(r.duplicate for r in receipts)
                new += sum(not r.duplicate for r in receipts)
                if args.receipts:
                    for r in receipts:
                        out(r)
                bar.update(len(receipts))
    print(f"append: {new} new, {dup} duplicates (already recorded, unchanged)", file=sys.stderr)
    return 0


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    """Print a stream's events in order."""
    with open_ledger(settings) as ledger:
        events = ledger.history(args.stream)
    if not events:
        msg = f"stream {args.stream} has no events"
        raise NotFoundError(msg, field="stream")
    for e in events:
        if args.json:
            out(e)
        else:
            print(
                f"{e.stream_position:>5}  {e.occurred_at}  {e.type}@{e.schema_version}  "
                f"{e.actor['kind']}:{e.actor['id']}  #{e.position}  {e.hash[:16]}…"
            )
            print(f"       {msgspec.json.encode(e.payload).decode()}")
    return 0


def cmd_get(args: argparse.Namespace, settings: Settings) -> int:
    """Print one event by id."""
    with open_ledger(settings) as ledger:
        out(ledger.get(args.event_id))
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute every chain, the Merkle tree and every checkpoint; exit 1 naming the first fault.

    The result is stored for ``GET /ledger/verification``; ``--follow`` repeats it every
    ``LEDGER_VERIFY_INTERVAL`` seconds (exit codes then only for configuration or storage errors).
    Only the events, the tree, the public keyring and the WORM store are opened: verification
    reads stored bytes and never decrypts, so it needs no KEK (nor any private key).
    """
    if args.last:
        with closing(verification.build_results(settings)) as results:
            result = _last(results)
    else:
        with (
            closing(build_store(settings)) as store,
            closing(build_tree_store(settings)) as tree,
            closing(verification.build_results(settings)) as results,
        ):
            log = verification.StoredVerificationLog(
                settings, store, tree, results, processes=args.processes, pause_gc=True
            )
            if args.follow:
                verification.follow(log, interval=settings.verify_interval, report=_verified)
                return 0
            with progress(store.size(), "verify") as bar:
                result = log.run(bar.update)
    if args.json:
        out(result)
    else:
        _verified(result, last=args.last)
    return 0 if result["ok"] else EXIT_VERIFY


def _last(results: verification.ResultStore) -> dict[str, Any]:
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


def cmd_seal(args: argparse.Namespace, settings: Settings) -> int:
    """Seal the ledger once (or keep following it with ``--follow``)."""
    with open_ledger(settings) as ledger:
        sealer = build_sealer(settings, ledger)
        try:
            if args.follow:
                follow(sealer, every=settings.seal_every, interval=settings.seal_interval, report=_said)
                return 0
            _said(sealer.seal())
        finally:
            sealer.tree_store.close()
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


def cmd_catalogue(args: argparse.Namespace, settings: Settings) -> int:  # noqa: ARG001
    """Print the event catalogue (the schema registry)."""
    from ledger.catalogue import CATALOGUE  # noqa: PLC0415

    entries = CATALOGUE.describe()
    if args.type:
        entries = [e for e in entries if e["type"] == args.type]
        if not entries:
            msg = f"unknown event type {args.type!r}"
            raise NotFoundError(msg, field="type")
    if args.json or args.type:
        out(entries)
        return 0
    for e in entries:
        personal = f"  personal: {', '.join(e['personal'])}" if e["personal"] else ""
        print(
            f"{e['type']:<34} v{e['version']}{'' if e['latest'] else ' (old)':<6} "
            f"{'/'.join(e['entities']):<18} {e['description']}{personal}"
        )
    return 0


def cmd_erase(args: argparse.Namespace, settings: Settings) -> int:
    """Destroy a data subject's key (erasure); chains and proofs stay valid."""
    with open_ledger(settings) as ledger:
        done = ledger.erase_subject(args.subject)
    print(
        f"erase: {args.subject}: "
        + ("data key destroyed" if done else "no key to destroy (nothing sealed or already erased)")
    )
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser (store selection comes from LEDGER_* environment variables)."""
    p = argparse.ArgumentParser(prog="ledger", description="audit-ledger: tamper-evident system of record")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="append a deterministic synthetic operator history")
    d.add_argument("--events", type=positive, default=20_000)
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--batch", type=positive, default=1000)
    d.set_defaults(fn=cmd_demo)
    a = sub.add_parser("append", help="append NDJSON events from FILE or - (stdin)")
    a.add_argument("file")
    a.add_argument("--batch", type=positive, default=1000)
    a.add_argument("--receipts", action="store_true", help="print one JSON receipt per event")
    a.set_defaults(fn=cmd_append)
    h = sub.add_parser("history", help="print a stream's events, e.g. BonusRule:br-welcome")
    h.add_argument("stream")
    h.add_argument("--json", action="store_true")
    h.set_defaults(fn=cmd_history)
    g = sub.add_parser("get", help="print one event by event_id")
    g.add_argument("event_id")
    g.set_defaults(fn=cmd_get)
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
    c = sub.add_parser("catalogue", help="print every event type, version and JSON schema")
    c.add_argument("--json", action="store_true")
    c.add_argument("--type", help="one type, with its JSON schema")
    c.set_defaults(fn=cmd_catalogue)
    e = sub.add_parser("erase", help="destroy a data subject's key (GDPR erasure)")
    e.add_argument("subject", help="the subject reference, e.g. a player_ref")
    e.set_defaults(fn=cmd_erase)
    se = sub.add_parser("seal", help="extend the Merkle log, sign a checkpoint and anchor it in WORM storage")
    se.add_argument(
        "--follow",
        action="store_true",
        help="keep sealing (LEDGER_SEAL_EVERY events / LEDGER_SEAL_INTERVAL s)",
    )
    se.set_defaults(fn=cmd_seal)
    cli_proofs.register(sub)
    cli_projections.register(sub)
    cli_bundle.register(sub)
    cli_api.register(sub)
    return p


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = parser().parse_args(argv)
    fn: Callable[[argparse.Namespace, Settings], int] = args.fn
    try:
        settings = Settings.from_env(os.environ if env is None else env)
        return fn(args, settings)
    except LedgerError as e:
        what = "verification failed: " if isinstance(e, VerificationError) else ""
        print(f"ledger {args.command}: {what}{e}", file=sys.stderr)
        return _exit_code(e)
    except BrokenPipeError:  # the reader went away (`ledger history … | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"ledger {args.command}: interrupted; committed batches stay committed", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI promise: one line, never a traceback
        print(f"ledger {args.command}: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_STORAGE


def _exit_code(e: LedgerError) -> int:
    if isinstance(e, VerificationError):
        return EXIT_VERIFY
    return EXIT_STORAGE if isinstance(e, StorageError) else EXIT_INPUT


def run(stream: IO[str] | None = None) -> None:  # noqa: ARG001
    """Console-script entry point."""
    sys.exit(main())
