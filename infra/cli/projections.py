"""``ledger`` sub-commands for projections: status, rebuild, run; audit, round, case, report, quality.

``ledger report mga-compliance --day D`` writes the MGA daily compliance summary (XML) of a UTC day.

Read commands first catch the views up with the log (a no-op when they are current), so
they answer right after ``ledger demo``; ``ledger projections run --follow`` keeps them
current continuously.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import msgspec

from infra.cli.common import out, progress
from infra.clock import SystemClock
from infra.files import write_atomic
from infra.settings import Settings
from infra.wiring.bootstrap import build_runner, mga_config, open_backend
from ledger.catalogue.types import Timestamp
from projections.audit import audit_history, audit_history_json
from projections.cases import case_view
from projections.mga import mga_report, parse_base_rates, parse_day
from projections.quality import quality_report
from projections.reports import report
from projections.rounds import reconstruct_round
from projections.runner import ProjectionRunner
from projections.state import lookup


@contextmanager
def open_runner(settings: Settings, *, catch_up: bool = True) -> Iterator[ProjectionRunner]:
    """The projection runner over the configured stores, caught up unless told otherwise."""
    backend = open_backend(settings)
    with closing(backend.events()) as store, closing(backend.views()) as views:
        runner = build_runner(settings, store, views)
        if catch_up:
            behind = max((s.lag for s in runner.status()), default=0)
            with progress(behind or None, "projections") as bar:
                runner.catch_up(bar.update)
        yield runner


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Print each projection's version, position and lag."""
    with open_runner(settings, catch_up=False) as runner:
        rows = runner.status()
    if args.json:
        out(
            [
                {
                    "name": s.name,
                    "version": s.version,
                    "stored_version": s.stored_version,
                    "position": s.position,
                    "head": s.head,
                    "lag": s.lag,
                    "stale": s.stale,
                }
                for s in rows
            ]
        )
        return 0
    print(f"{'projection':<10} {'version':>7} {'position':>10} {'head':>10} {'lag':>8}  state")
    for s in rows:
        state = (
            "rebuild due (version changed)"
            if s.stale and s.stored_version
            else "never run"
            if s.stale
            else "current"
            if not s.lag
            else "behind"
        )
        print(f"{s.name:<10} {s.version:>7} {s.position:>10} {s.head:>10} {s.lag:>8}  {state}")
    return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Empty the named projections (all by default) and replay the log from zero."""
    with open_runner(settings, catch_up=False) as runner:
        chosen = runner.select(args.names)
        with progress(runner.store.size(), "rebuild") as bar:
            n = runner.rebuild(args.names, bar.update)
    print(f"rebuild: {', '.join(p.name for p in chosen)}: {n} events replayed")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Catch up; with --follow keep following new events until interrupted."""
    with open_runner(settings) as runner:
        if args.follow:
            print("projections: following the log (Ctrl-C to stop)")
            stop = threading.Event()
            try:
                wait = getattr(runner.views, "wait_for_events", None)
                interval = settings.projection_poll if args.interval is None else args.interval
                runner.follow(stop, interval=interval, wait=wait)
            finally:
                stop.set()
    print("projections: current")
    return 0


def _text(doc: Any) -> str:
    return msgspec.json.encode(doc).decode()


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    """Print an entity's revisions with their JSON Patch diffs."""
    with open_runner(settings) as runner:
        if args.json:
            sys.stdout.buffer.write(audit_history_json(runner.views, args.entity, args.id) + b"\n")
            return 0
        rows = audit_history(runner.views, args.entity, args.id)
    for r in rows:
        actor = r["actor"]
        print(
            f"rev {r['stream_position']:>4}  {r['occurred_at']}  {r['type']}  "
            f"by {actor['kind']}:{actor['id']}"
            f"  #{r['position']}  {r['hash'][:16]}…  recorded {r['recorded_at']}"
        )
        if r.get("reason"):
            print(f"          reason: {r['reason']}")
        for op in r["patch"]:
            value = f" {_text(op['value'])}" if "value" in op else ""
            print(f"          {op['op']:<7} {op['path'] or '/'}{value}")
    print(f"state now: {_text(rows[-1]['state'])}")
    return 0


def cmd_round(args: argparse.Namespace, settings: Settings) -> int:
    """Print a reconstructed game round."""
    with open_runner(settings) as runner:
        doc = reconstruct_round(runner.views, args.round_id)
    if args.json:
        out(doc)
        return 0
    release = doc["release"] or {}
    print(
        f"round {doc['round_id']}  player {doc['player_ref']}  game {doc['game_code']} "
        f"(version {str(doc['game_version_hash'])[:12]}…, release {release.get('release_id')}, "
        f"RTP {release.get('rtp_theoretical')})  {doc['jurisdiction']} {doc['currency']}"
    )
    print(
        f"status {doc['technical_status']}  bet {doc['total_bet']}  win {doc['total_win']}  "
        f"balance {(doc['balance_start'] or {}).get('amount')} → {(doc['balance_end'] or {}).get('amount')}  "
        f"flags: {', '.join(doc['flags']) or 'none'}"
    )
    for s in doc["steps"]:
        extra = {k: v for k, v in s.items() if k not in {"step", "type", "position", "occurred_at"}}
        print(f"  {s['step']:>3} {s['occurred_at']}  #{s['position']:<8} {s['type']:<20} {_text(extra)}")
    if any(doc["jackpot"].values()):
        print(f"jackpot: {_text(doc['jackpot'])}")
    print(f"positions: {doc['positions']}")
    return 0


def cmd_case(args: argparse.Namespace, settings: Settings) -> int:
    """Print an AML case or an incident with its timeline."""
    with open_runner(settings) as runner:
        doc = case_view(runner.views, args.case_id)
    if args.json:
        out(doc)
        return 0
    head = {k: v for k, v in doc.items() if not isinstance(v, list | dict)}
    print("  ".join(f"{k}={v}" for k, v in head.items()))
    for k, v in doc.items():
        if isinstance(v, dict):
            print(f"{k}: {_text(v)}")
    for k, v in doc.items():
        if isinstance(v, list) and k != "timeline":
            print(f"{k} ({len(v)}):")
            for item in v:
                print(f"  {_text(item)}")
    print("timeline:")
    for e in doc.get("timeline", []):
        print(f"  {e['at']}  #{e['position']:<8} {e['type']:<22} by {e['actor']}")
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Print report facts (per day, jurisdiction, currency, game), RTP per version and pools."""
    with open_runner(settings) as runner:
        facts = report(runner.views, args.day)
    if args.json:
        out(facts)
        return 0
    for r in facts["days"]:
        money = " ".join(f"{k}={v}" for k, v in sorted(r["money"].items()))
        counts = " ".join(f"{k}={v}" for k, v in sorted(r["counts"].items()))
        print(
            f"{r['day']} {r['jurisdiction']} {r['currency']} {r['game']:<18} "
            f"ggr={r['ggr']} ngr={r['ngr']} {money} {counts}"
        )
    for r in facts["rtp"]:
        print(
            f"rtp {r['month']} {r['game']:<18} {r['game_version_hash'][:12]}… "
            f"theoretical {r['rtp_theoretical']} actual {r['rtp_actual']}"
        )
    for p in facts["pools"]:
        print(
            f"pool {p['pool']:<28} contributions {p['contributions']} payouts {p['payouts']} {p['currency']}"
        )
    return 0


def cmd_mga_compliance(args: argparse.Namespace, settings: Settings) -> int:
    """Write the MGA daily compliance summary (``B2CCompSmryRpt`` XML) of one UTC day."""
    day, rates = parse_day(args.day), parse_base_rates(args.base_rates)
    created_at = Timestamp.from_epoch_ms(SystemClock().now_ms())
    with open_runner(settings) as runner:
        report = mga_report(
            runner.views,
            day,
            mga_config(settings),
            created_at=created_at,
            base_rates=rates,
            version=args.report_version,
        )
    if args.out is None:
        sys.stdout.buffer.write(report)
        return 0
    write_atomic(Path(args.out), report)
    print(f"report mga-compliance: {day} written to {args.out} ({len(report):,} bytes)", file=sys.stderr)
    return 0


def cmd_quality(args: argparse.Namespace, settings: Settings) -> int:
    """Print data-quality counts with examples."""
    with open_runner(settings) as runner:
        checks = quality_report(runner.views)
    if args.json:
        out(checks)
        return 0
    for c in checks:
        extra = f"  buckets {_text(c['buckets'])}" if "buckets" in c else ""
        print(f"{c['check']:<28} {c['count']:>8}{extra}")
        for e in c["examples"]:
            print(f"    e.g. #{e['position']} {e['stream']} {e['type']}: {e['detail']}")
    return 0


def cmd_state(args: argparse.Namespace, settings: Settings) -> int:
    """Print one current-state document (player, game, or config by stream)."""
    with open_runner(settings) as runner:
        out(lookup(runner.views, args.kind, args.key))
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the ``ledger`` parser."""
    p = sub.add_parser("projections", help="projection status, rebuild, run")
    ps = p.add_subparsers(dest="action", required=True)
    s = ps.add_parser("status", help="version, position and lag per projection")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_status)
    r = ps.add_parser("rebuild", help="drop the views and replay the log from zero")
    r.add_argument("names", nargs="*", metavar="NAME")
    r.set_defaults(fn=cmd_rebuild)
    f = ps.add_parser("run", help="catch up (and with --follow keep following)")
    f.add_argument("--follow", action="store_true")
    f.add_argument("--interval", type=float, help="seconds between polls when idle (LEDGER_PROJECTION_POLL)")
    f.set_defaults(fn=cmd_run)
    a = sub.add_parser("audit", help="an entity's revisions with RFC 6902 diffs")
    a.add_argument("--entity", required=True, help="entity kind, e.g. BonusRule")
    a.add_argument("--id", required=True, help="entity id, e.g. rule-welcome")
    a.add_argument("--json", action="store_true")
    a.set_defaults(fn=cmd_audit)
    o = sub.add_parser("round", help="reconstruct a game round")
    o.add_argument("round_id")
    o.add_argument("--json", action="store_true")
    o.set_defaults(fn=cmd_round)
    c = sub.add_parser("case", help="an AML case or incident with its timeline")
    c.add_argument("case_id")
    c.add_argument("--json", action="store_true")
    c.set_defaults(fn=cmd_case)
    t = sub.add_parser("report", help="report facts per day, jurisdiction, currency and game")
    t.add_argument("--day", default="", help="day prefix, e.g. 2026-01 or 2026-01-05")
    t.add_argument("--json", action="store_true")
    t.set_defaults(fn=cmd_report)
    kinds = t.add_subparsers(metavar="{mga-compliance}", help="a regulator's report format instead")
    m = kinds.add_parser("mga-compliance", help="MGA daily compliance summary (B2CCompSmryRpt XML)")
    m.add_argument("--day", required=True, help="UTC day YYYY-MM-DD (00:00-24:00 UTC of occurred_at)")
    m.add_argument("--out", help="write to FILE instead of stdout")
    m.add_argument("--base-rates", help="ECB euro rates of non-EUR currencies, e.g. GBP=0.8612,DKK=7.4601")
    m.add_argument(
        "--report-version", type=int, default=0, help="VrsNb: 0, incremented when resubmitting a day"
    )
    m.set_defaults(fn=cmd_mga_compliance)
    q = sub.add_parser("quality", help="data-quality counts with examples")
    q.add_argument("--json", action="store_true")
    q.set_defaults(fn=cmd_quality)
    st = sub.add_parser("state", help="current state: player <ref> | game <code> | config <stream>")
    st.add_argument("kind", choices=["player", "game", "config"])
    st.add_argument("key")
    st.set_defaults(fn=cmd_state)
