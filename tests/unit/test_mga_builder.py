"""The pure MGA builder on hand-made facts: currency scales, header, jackpots, input errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, Inexact
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ledger.errors import ValidationError
from projections.mga import MgaConfig, MgaFacts, compliance_summary, parse_base_rates, parse_day

XSD = Path(__file__).parents[1] / "vectors" / "mga" / "B2CSmryCompliance.xsd"
DAY = dt.date(2026, 3, 2)
CREATED = dt.datetime(2026, 3, 3, 0, 0, 4, 250_000, tzinfo=dt.UTC)
NS = {"mga": "MGA", "rri": "RRI"}


def wallet(ccy: str, day: str, ins: dict[str, str], outs: dict[str, str]) -> dict[str, Any]:
    return {"jurisdiction": "MT", "currency": ccy, "day": day, "credits": ins, "debits": outs}


FACTS = MgaFacts(
    wallets=[
        wallet("JPY", "2026-03-01", {"deposit": "50000"}, {"bet": "1200"}),
        wallet("JPY", "2026-03-02", {"win": "300", "adjustment": "7"}, {"bet": "900", "chargeback": "100"}),
        wallet("KWD", "2026-03-02", {"deposit": "12.345"}, {"withdrawal": "2.000"}),
        wallet("EUR", "2026-03-01", {"deposit": "20.00"}, {"withdrawal": "25.00"}),
    ],
    jackpots=[
        {
            "pool": "jp-sakura-jpy",
            "currency": "JPY",
            "day": "2026-03-02",
            "level": "1000012",
            "started": "2026-03-02",
            "wins": [{"amount": "2500000", "started": "2026-02-11"}],
        }
    ],
)
CONFIG = MgaConfig("A123", ("https://casino.example.com", "casino.example.org/mt"))


def build(facts: MgaFacts = FACTS, **kwargs: Any) -> etree._Element:
    kwargs.setdefault("created_at", CREATED)
    kwargs.setdefault("base_rates", {"JPY": Decimal("161.23"), "KWD": Decimal("0.3312")})
    report = compliance_summary(DAY, facts, CONFIG, **kwargs)
    assert report.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(report)
    etree.XMLSchema(etree.parse(XSD)).assertValid(root)
    return root


def summary(root: etree._Element, ccy: str) -> dict[str, str]:
    found = root.find(f"mga:CCY[@CCY='{ccy}']/mga:AcctActvySmrybyPlyrTp/AccActvySmry", NS)
    assert found is not None
    return {str(c.tag): str(c.text) for c in found}


def test_amounts_carry_each_currencys_scale_and_balance() -> None:
    root = build()
    assert [c.get("CCY") for c in root.iterfind("mga:CCY", NS)] == ["EUR", "JPY", "KWD"]
    assert [c.get("BaseRate") for c in root.iterfind("mga:CCY", NS)] == ["1", "161.23", "0.3312"]
    assert summary(root, "JPY") == {
        "OpnBlc": "48800", "TtlDpst": "0", "TtlWthdrw": "0", "TtlCashIn": "300", "TtlCashOut": "900",
        "TtlPromotions": "0", "TtlFndsInPly": "48107", "TtlBlckd": "0", "TtlUndRun": "0",
        "TtlCashInOthr": "7", "TtlCashOutOthr": "100",
    }  # fmt: skip
    kwd = summary(root, "KWD")
    assert (kwd["OpnBlc"], kwd["TtlDpst"], kwd["TtlWthdrw"], kwd["TtlFndsInPly"]) == (
        "0.000", "12.345", "2.000", "10.345",
    )  # fmt: skip
    eur = summary(root, "EUR")
    assert (eur["OpnBlc"], eur["TtlDpst"], eur["TtlFndsInPly"]) == ("-5.00", "0.00", "-5.00")


def test_header_and_jackpots() -> None:
    root = build(version=2)
    header = {str(c.tag): str(c.text) for c in root.iterfind("mga:Header/*", NS)}
    assert header == {
        "Tp": "Report", "PrdTp": "Periodic", "Ctgy": "Summary", "CrtDtTm": "2026-03-03T00:00:04Z",
        "RprtStrtDt": "2026-03-02T00:00:00Z", "RptPrd": "P1D", "RprtToCntry": "MT", "RprtOprtr": "A123",
        "RprtURL": "casino.example.org/mt", "VrsNb": "2",
    }  # fmt: skip
    assert len(root.findall("mga:Header/RprtURL", NS)) == 2
    jackpots = [
        {etree.QName(c).localname: c.text for c in j}
        for j in root.iterfind("mga:CCY[@CCY='JPY']/mga:B2CJckPtsSmry/Jackpot", NS)
    ]
    common = {"JckptNm": "jp-sakura-jpy", "JckptPrzTp": "Progressive", "JckptPlTp": "Other", "CCY": "JPY"}
    assert jackpots == [
        {**common, "JckptAmnt": "2500000", "JckptStrtDt": "2026-02-11", "JckptEndTp": "Won"},
        {**common, "JckptAmnt": "1000012", "JckptStrtDt": "2026-03-02"},
    ]
    assert root.find("mga:CCY[@CCY='EUR']/mga:B2CJckPtsSmry", NS) is None


def test_an_idle_pool_reports_its_last_level_and_no_win() -> None:
    idle = {**FACTS.jackpots[0], "day": "2026-02-27"}
    root = build(MgaFacts(FACTS.wallets, [idle]))
    jackpots = root.findall("mga:CCY[@CCY='JPY']/mga:B2CJckPtsSmry/Jackpot", NS)
    assert [j.findtext("rri:JckptAmnt", namespaces=NS) for j in jackpots] == ["1000012"]


def test_builder_input_errors() -> None:
    with pytest.raises(ValidationError, match="no ECB euro base rate for KWD"):
        build(base_rates={"JPY": Decimal(160)})
    with pytest.raises(ValidationError, match="has not ended yet"):
        build(created_at=dt.datetime(2026, 3, 2, 23, 59, 59, tzinfo=dt.UTC))
    with pytest.raises(ValidationError, match="must be 0 or more"):
        build(version=-1)
    long_pool = {**FACTS.jackpots[0], "pool": "jp-" + "x" * 33}
    with pytest.raises(ValidationError, match="longer than MGA's 35 characters") as e:
        build(MgaFacts(FACTS.wallets, [long_pool]))
    assert e.value.field == "jackpot_pool_id"
    with pytest.raises(Inexact):
        build(MgaFacts([wallet("EUR", "2026-03-02", {"deposit": "1.005"}, {})], []))


def test_parse_day_and_base_rates() -> None:
    assert parse_day("2026-01-05") == dt.date(2026, 1, 5)
    for bad in ("2026-1-5", "20260105", "2026-02-30", "1999-01-01", "2026-01-05\n", ""):
        with pytest.raises(ValidationError) as e:
            parse_day(bad)
        assert e.value.field == "day"
    assert parse_base_rates(None) == parse_base_rates("") == {}
    assert parse_base_rates("GBP=0.8612, DKK=7.4601") == {"GBP": Decimal("0.8612"), "DKK": Decimal("7.4601")}
    for bad in ("GBP", "GBP=0", "GBP=-1", "EUR=1", "GBP=1,GBP=2", "gbp=1", "GBP=1,"):
        with pytest.raises(ValidationError) as e:
            parse_base_rates(bad)
        assert e.value.field == "base_rates"
