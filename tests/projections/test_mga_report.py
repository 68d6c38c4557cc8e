"""The MGA compliance summary from the demo history: valid against MGA's XSD, to the cent with raw events.

The expected figures are computed here from the raw events, independently of the projection:
balances from each wallet's balance chain (the last ``balance_after`` before midnight), not by
summing movements; movements by wallet ``reason`` as docs/reports.md maps them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from infra.demo import demo_events
from ledger.application import Ledger
from ledger.errors import NotFoundError, ValidationError
from projections.mga import MgaConfig, mga_report
from projections.ports import ViewStore
from tests.projections.support import RunnerFactory, make_runner, make_views

__all__ = ["make_runner", "make_views"]

XSD = Path(__file__).parents[1] / "vectors" / "mga" / "B2CSmryCompliance.xsd"
START = "2026-01-05T23:58:00.000Z"  # the history crosses midnight: the 6th opens with the 5th's balances
DAYS = ("2026-01-05", "2026-01-06")
CREATED = dt.datetime(2026, 2, 1, 6, 0, 5, tzinfo=dt.UTC)
RATES = {"GBP": Decimal("0.8612"), "DKK": Decimal("7.4601")}
CREDIT = {
    "deposit": "TtlDpst",
    "win": "TtlCashIn",
    "jackpot": "TtlCashIn",
    "bonus": "TtlPromotions",
    "refund": "TtlUndRun",
}
DEBIT = {"withdrawal": "TtlWthdrw", "bet": "TtlCashOut"}
Event = dict[str, Any]


def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(XSD))


def _before(events: Iterable[Event], instant: str) -> Iterable[Event]:
    return (e for e in events if e["occurred_at"] < instant)


def expected_accounts(
    events: list[Event], day: str, jurisdictions: set[str]
) -> dict[str, dict[str, Decimal]]:
    """Per currency: balances from the wallets' balance chains, the day's movements by reason."""
    end = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
    wallets = [e for e in events if e["type"].startswith("wallet.") and e["jurisdiction"] in jurisdictions]
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for key, instant in (("OpnBlc", day), ("TtlFndsInPly", end)):
        last = {e["stream"]: e["payload"]["balance_after"] for e in _before(wallets, instant)}
        for balance in last.values():
            out[balance["currency"]][key] += Decimal(balance["amount"])
    for e in wallets:
        if e["occurred_at"][:10] == day:
            p = e["payload"]
            credit = e["type"] == "wallet.credited"
            name = (
                CREDIT.get(p["reason"], "TtlCashInOthr")
                if credit
                else DEBIT.get(p["reason"], "TtlCashOutOthr")
            )
            out[p["amount"]["currency"]][name] += Decimal(p["amount"]["amount"])
    return out


def expected_jackpots(events: list[Event], day: str, jurisdictions: set[str]) -> set[tuple[str, ...]]:
    """(pool, amount, start day, end) of the jackpots won on ``day`` and of those running at its end."""
    end = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
    out: set[tuple[str, ...]] = set()
    pools: dict[str, dict[str, str]] = {}
    for e in _before(events, end):
        if not e["type"].startswith("jackpot.") or e["jurisdiction"] not in jurisdictions:
            continue
        p, on = e["payload"], e["occurred_at"][:10]
        pool = pools.setdefault(p["jackpot_pool_id"], {"started": on})
        if e["type"] == "jackpot.contributed":
            pool["level"] = p["pool_after"]["amount"]
        elif e["type"] == "jackpot.triggered":
            if on == day:
                out.add((p["jackpot_pool_id"], p["amount"]["amount"], pool["started"], "Won"))
            pool.update(level=p["pool_reset_to"]["amount"], started=on)
    return out | {(name, pool["level"], pool["started"], "") for name, pool in pools.items()}


def parse(report: bytes) -> tuple[dict[str, dict[str, str]], dict[str, str], set[tuple[str, ...]]]:
    """The report's account summary per currency, base rates, and jackpots (no lxml XSD involved)."""
    root = etree.fromstring(report)
    ns = {"mga": "MGA", "rri": "RRI"}
    accounts: dict[str, dict[str, str]] = {}
    rates: dict[str, str] = {}
    jackpots: set[tuple[str, ...]] = set()
    for ccy in root.iterfind("mga:CCY", ns):
        code = str(ccy.get("CCY"))
        rates[code] = str(ccy.get("BaseRate"))
        summary = ccy.find("mga:AcctActvySmrybyPlyrTp/AccActvySmry", ns)
        assert summary is not None
        accounts[code] = {str(child.tag): str(child.text) for child in summary}
        for j in ccy.iterfind("mga:B2CJckPtsSmry/Jackpot", ns):
            fields = {etree.QName(c).localname: str(c.text) for c in j}
            assert fields["CCY"] == code
            amount = str(Decimal(fields["JckptAmnt"]))
            jackpots.add((fields["JckptNm"], amount, fields["JckptStrtDt"], fields.get("JckptEndTp", "")))
    return accounts, rates, jackpots


def load(ledger: Ledger, make_runner: RunnerFactory) -> tuple[list[Event], ViewStore]:
    events = list(demo_events(6000, start=START))
    for i in range(0, len(events), 1000):
        ledger.append(events[i : i + 1000])
    runner = make_runner()
    runner.catch_up()
    return events, runner.views


def build(views: ViewStore, day: str, jurisdictions: tuple[str, ...], **kwargs: Any) -> bytes:
    config = MgaConfig("DEMO", ("casino.example.com",), jurisdictions)
    kwargs.setdefault("created_at", CREATED)
    return mga_report(views, dt.date.fromisoformat(day), config, **kwargs)


def _check(events: list[Event], report: bytes, day: str, jurisdictions: tuple[str, ...]) -> None:
    schema().assertValid(etree.fromstring(report))
    accounts, rates, jackpots = parse(report)
    expected = expected_accounts(events, day, set(jurisdictions))
    assert set(accounts) == set(expected)
    for ccy, got in accounts.items():
        assert all(re.fullmatch(r"-?[0-9]+\.[0-9]{2}", v) for v in got.values()), got
        assert {k: Decimal(v) for k, v in got.items() if Decimal(v)} == {
            k: v for k, v in expected[ccy].items() if v
        }, (day, ccy)
        m = {k: Decimal(v) for k, v in got.items()}
        inflow = m["TtlDpst"] + m["TtlCashIn"] + m["TtlPromotions"] + m["TtlUndRun"] + m["TtlCashInOthr"]
        outflow = m["TtlWthdrw"] + m["TtlCashOut"] + m["TtlCashOutOthr"]
        assert m["TtlFndsInPly"] == m["OpnBlc"] + inflow - outflow
        assert rates[ccy] == ("1" if ccy == "EUR" else str(RATES[ccy]))
    assert jackpots == expected_jackpots(events, day, set(jurisdictions))


def test_reports_validate_and_reconcile_with_raw_events(ledger: Ledger, make_runner: RunnerFactory) -> None:
    events, views = load(ledger, make_runner)
    for day in DAYS:
        for jurisdictions in (("MT",), ("DK", "GB", "MT")):
            report = build(views, day, jurisdictions, base_rates=RATES)
            _check(events, report, day, jurisdictions)
    mt = parse(build(views, DAYS[1], ("MT",)))
    assert set(mt[0]) == {"EUR"}
    assert Decimal(mt[0]["EUR"]["OpnBlc"]) > 0, "the second day opens with the first day's balances"
    assert any(j[3] == "Won" for j in parse(build(views, DAYS[0], ("MT",)))[2]), "a jackpot won on the 5th"
    several = parse(build(views, DAYS[1], ("DK", "GB", "MT"), base_rates=RATES))
    assert set(several[0]) == {"DKK", "EUR", "GBP"}


def test_report_errors(ledger: Ledger, make_runner: RunnerFactory) -> None:
    _, views = load(ledger, make_runner)
    with pytest.raises(NotFoundError, match="no report facts on 2026-01-07 for MT"):
        build(views, "2026-01-07", ("MT",))
    with pytest.raises(ValidationError, match="no ECB euro base rate for DKK") as e:
        build(views, DAYS[1], ("DK", "GB", "MT"))
    assert e.value.field == "base_rates"
    for day in (DAYS[1], "2026-01-07"):  # with facts so far, and without any yet: not a 404
        with pytest.raises(ValidationError, match="has not ended yet"):
            build(views, day, ("MT",), created_at=dt.datetime(2026, 1, 6, 23, 59, 59, tzinfo=dt.UTC))
