"""``ledger`` sub-commands for events: demo, append, history, get, catalogue, erase."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from infra.cli.common import open_ledger, out, positive, progress
from infra.demo import chunks, demo_events
from infra.settings import Settings
from ledger.application import decode_events
from ledger.catalogue import CATALOGUE
from ledger.errors import NotFoundError, ValidationError


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Append a deterministic synthetic operator history."""
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
        raise ValidationError(msg, field="file") from None


def cmd_append(args: argparse.Namespace, settings: Settings) -> int:
    """Append NDJSON events: validate the whole input first, then append in atomic batches."""
    events = decode_events(_read_lines(args.file))
    with open_ledger(settings) as ledger:
        for i in range(0, len(events), args.batch):
            ledger.validate(events[i : i + args.batch], offset=i)
        new = dup = 0
        with progress(len(events), "append") as bar:
            batches = (events[i : i + args.batch] for i in range(0, len(events), args.batch))
            for receipts in ledger.append_all(batches):
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


def cmd_catalogue(args: argparse.Namespace, settings: Settings) -> int:  # noqa: ARG001
    """Print the event catalogue (the schema registry)."""
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


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the ``ledger`` parser."""
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
    c = sub.add_parser("catalogue", help="print every event type, version and JSON schema")
    c.add_argument("--json", action="store_true")
    c.add_argument("--type", help="one type, with its JSON schema")
    c.set_defaults(fn=cmd_catalogue)
    e = sub.add_parser("erase", help="destroy a data subject's key (GDPR erasure)")
    e.add_argument("subject", help="the subject reference, e.g. a player_ref")
    e.set_defaults(fn=cmd_erase)
