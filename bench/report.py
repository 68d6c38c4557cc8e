"""MGA report benchmark: one day's B2CCompSmryRpt beside the raw read of the rows it is built from.

Run ``python -m bench.report`` (``--events N`` sets the demo ledger, default 100,000; ``--quick``
is 20,000; ``--years Y`` the synthetic history, default 5). Per store (SQLite file, PostgreSQL
schema when reachable), in process, p50/p99 over repeated calls:

- on a demo ledger of N events folded by every projection (the demo is dense: it all falls on
  2026-01-05): the raw read of the rows the report reads (``ViewStore.scan_raw`` over the same
  key ranges, no decoding), the facts read (``mga_facts``: scans + decode), the whole report
  (``mga_report``: facts + XML), and the day's ``report_day`` rows (what ``ledger report --day`` reads);
- on a view store holding Y years of synthetic daily rows (3 licences, 6 jackpot pools), where
  the opening balance sums every earlier day of each licence: the same three measurements.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.common import frozen_heap, machine, pg_problem, pg_version
from bench.projections import Row, append, percentiles, stores
from infra.demo import demo_events
from infra.settings import Settings
from infra.wiring.bootstrap import build_ledger, build_runner, open_backend
from ledger.encoding import canonical
from projections.mga import MgaConfig, mga_facts, mga_report
from projections.ports import Doc, TableWrites, ViewStore
from projections.reports import ReportProjection

CREATED = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
LICENCES = (("DK", "DKK"), ("GB", "GBP"), ("MT", "EUR"))
CONFIG = MgaConfig("DEMO", jurisdictions=tuple(j for j, _ in LICENCES))
RATES = {"GBP": Decimal("0.8612"), "DKK": Decimal("7.4601")}
POOLS = 6


def raw_rows(views: ViewStore, day: dt.date) -> Callable[[], int]:
    """Read, undecoded, the key ranges ``mga_facts`` reads; return the row count."""
    pools = [p["pool"] for p in views.scan("report_pool", "")]
    month = day.isoformat()[:7]

    def read() -> int:
        n = sum(len(views.scan_raw("report_wallet", f"{j}|")) for j, _ in LICENCES)
        n += len(views.scan_raw("report_pool", ""))
        return n + sum(len(views.scan_raw("report_jackpot", f"{p}|{month}")) for p in pools)

    return read


def sample(run: Callable[[], object], count: int) -> tuple[float, float]:
    """p50 and p99 in ms of ``count`` calls (inputs frozen out of the GC, as in the other benchmarks)."""
    with frozen_heap():
        samples = []
        for _ in range(count):
            start = time.perf_counter()
            run()
            samples.append(time.perf_counter() - start)
    return percentiles(samples)


def measure(store: str, case: str, views: ViewStore, day: dt.date, count: int) -> list[Row]:
    read = raw_rows(views, day)
    rows_read = read()
    report = mga_report(views, day, CONFIG, created_at=CREATED, base_rates=RATES)
    out = []
    for name, run in (
        (f"raw read of its {rows_read:,} rows (scan_raw)", read),
        ("facts read (mga_facts: scan + decode)", lambda: mga_facts(views, day, CONFIG.jurisdictions)),
        ("report generation (mga_report: facts + XML)", lambda: mga_report(
            views, day, CONFIG, created_at=CREATED, base_rates=RATES)),
        ("the day's report_day rows (ledger report --day)", lambda: views.scan("report_day", str(day))),
    ):  # fmt: skip
        p50, p99 = sample(run, count)
        out.append(Row(store, f"{case}: {name}", f"{p50:.2f} / {p99:.2f} ms"))
    out[2].note = f"{len(report):,} bytes of XML, {count} calls"
    return out


def demo_case(store: str, settings: Settings, events: int, count: int) -> list[Row]:
    backend = open_backend(settings)
    ledger = build_ledger(settings, backend)
    runner = build_runner(settings, ledger.store, backend.views())
    try:
        append(ledger, list(demo_events(events)))
        start = time.perf_counter()
        runner.catch_up()
        folded = f"{events:,} events folded in {time.perf_counter() - start:.0f} s"
        rows = measure(store, f"demo {events:,} ev", runner.views, dt.date(2026, 1, 5), count)
        rows[0].note = folded
        return rows
    finally:
        runner.views.close()
        ledger.close()


def _synthetic(years: int, end: dt.date) -> dict[str, dict[str, Doc]]:
    days = [(end - dt.timedelta(days=i)).isoformat() for i in range(365 * years)]
    wallets = {
        f"{j}|{c}|{d}": {"jurisdiction": j, "currency": c, "day": d, "credits": {"deposit": "25000.00",
                         "win": "41234.56", "bonus": "120.00"}, "debits": {"bet": "48211.10",
                         "withdrawal": "17000.00", "chargeback": "50.00"}}
        for j, c in LICENCES for d in days
    }  # fmt: skip
    pools = {f"jp-{i}-{c.lower()}": (j, c) for i in range(POOLS // len(LICENCES)) for j, c in LICENCES}
    levels = {
        f"{p}|{d}": {"pool": p, "currency": c, "day": d, "at": [f"{d}T23:59:59.000Z", 0],
                     "level": "10123.45", "started": days[-1], "wins": []}
        for p, (_, c) in pools.items() for d in days
    }  # fmt: skip
    pool_docs = {p: {"pool": p, "currency": c, "jurisdictions": [j]} for p, (j, c) in pools.items()}
    return {"report_wallet": wallets, "report_jackpot": levels, "report_pool": pool_docs}


def history_case(store: str, settings: Settings, years: int, count: int) -> list[Row]:
    views = open_backend(settings).views()
    try:
        projection = ReportProjection()
        views.ensure(projection.tables)
        end = dt.date(2030, 12, 31)
        tables: dict[str, Any] = _synthetic(years, end)
        writes = {
            t: TableWrites(projection.version, {k: canonical(d) for k, d in docs.items()})
            for t, docs in tables.items()
        }
        views.commit(writes, [])
        return measure(store, f"{years} y synthetic", views, end, count)
    finally:
        views.close()


def benchmark(events: int, years: int, count: int) -> None:
    problem = pg_problem()
    print(f"audit-ledger MGA report benchmark: {events:,}-event demo ledger, {years}-year synthetic history")
    print(machine(None if problem else pg_version()))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        for store, settings in stores(problem is None, Path(tmp)):
            rows += demo_case(store, settings, events, count)
        history = Path(tmp) / "history"
        history.mkdir()
        for store, settings in stores(problem is None, history):
            rows += history_case(store, settings, years, count // 4)
    if problem:
        print(f"PostgreSQL skipped: {problem}")
    width = max(len(r.name) for r in rows)
    for r in rows:
        print(f"{r.store:<11} {r.name:<{width}}  {r.value:>18}  {r.note}")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.report")
    p.add_argument("--events", type=int, default=100_000, help="demo ledger size (default 100,000)")
    p.add_argument("--years", type=int, default=5, help="synthetic history length (default 5)")
    p.add_argument("--quick", action="store_true", help="20,000 events, 1 year, fewer calls")
    args = p.parse_args()
    if args.quick:
        benchmark(20_000, 1, 40)
    else:
        benchmark(args.events, args.years, 400)


if __name__ == "__main__":
    main()
