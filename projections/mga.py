"""The MGA daily compliance summary: ``B2CCompSmryRpt`` of "Enhanced Automated Reporting" 20210201.

:func:`mga_facts` reads the report projection's rows a day's report needs (wallet movements
per day, jackpot pool levels); :func:`compliance_summary` is the pure builder: the XML bytes,
valid against MGA's ``B2CSmryCompliance.xsd``. A report covers one UTC day, 00:00:00 to
24:00:00 of ``occurred_at``, for the players of the configured licences (jurisdictions), with
one ``CCY`` element per currency and every amount an exact decimal at the currency's ISO 4217
scale. Where each element's value comes from, and which are zero because the ledger holds no
such data: ``docs/reports.md``.

The XSDs put the report's own elements in namespace ``MGA``, the types they include from
``MGATypes.xsd`` unqualified, and the jackpot fields of ``commonTypes.xsd`` in ``RRI``.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation

from ledger.catalogue.types import CURRENCY_SCALE
from ledger.errors import NotFoundError, ValidationError
from projections.ports import Doc, ViewStore

_DAY = re.compile(r"(20[1-9][0-9])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_RATE = re.compile(r"([A-Z]{3})=([0-9]{1,6}(\.[0-9]{1,10})?)")
_EXACT = Context(traps=[Inexact, InvalidOperation])
JACKPOT_NAME_MAX = 35  # rri:Max35Text
# Wallet movements by reason: credits and debits named here fill their element; every other
# credit is TtlCashInOthr and every other debit TtlCashOutOthr, so the summary always balances.
_CREDIT = {
    "deposit": "TtlDpst",
    "win": "TtlCashIn",
    "jackpot": "TtlCashIn",
    "bonus": "TtlPromotions",
    "refund": "TtlUndRun",
}
_DEBIT = {"withdrawal": "TtlWthdrw", "bet": "TtlCashOut"}
_SUMMARY = (  # AccountActivitySummary, in the XSD's order
    "OpnBlc",
    "TtlDpst",
    "TtlWthdrw",
    "TtlCashIn",
    "TtlCashOut",
    "TtlPromotions",
    "TtlFndsInPly",
    "TtlBlckd",
    "TtlUndRun",
    "TtlCashInOthr",
    "TtlCashOutOthr",
)


@dataclass(frozen=True, slots=True)
class MgaConfig:
    """Who files MGA reports and whose players they cover.

    ``operator`` is the header's ``RprtOprtr`` (the reporting operator's gaming licence id,
    at most 4 characters), ``urls`` its ``RprtURL`` list (the websites the report covers),
    ``jurisdictions`` the event jurisdictions whose players are reported to the MGA.
    """

    operator: str
    urls: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ("MT",)


@dataclass(frozen=True, slots=True)
class MgaFacts:
    """What one day's report is built from: wallet rows up to the day, each pool's latest level row."""

    wallets: list[Doc]
    jackpots: list[Doc]


def parse_day(text: str) -> dt.date:
    """The UTC day ``YYYY-MM-DD`` (years 2010-2099, the range MGA's ISODateTime pattern allows).

    Raises:
        ValidationError: no such day.
    """
    if _DAY.fullmatch(text) is None:
        raise ValidationError(f"expected a day YYYY-MM-DD between 2010 and 2099, got {text!r}", field="day")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise ValidationError(f"{text}: {e}", field="day") from None


def parse_base_rates(text: str | None) -> dict[str, Decimal]:
    """ECB euro reference rates ``GBP=0.8612,DKK=7.4601`` (units of the currency per euro).

    Raises:
        ValidationError: malformed, zero, repeated, or a rate for EUR (always 1).
    """
    rates: dict[str, Decimal] = {}
    if not text:
        return rates
    for item in text.split(","):
        m = _RATE.fullmatch(item.strip())
        if m is None or Decimal(m[2]) == 0 or m[1] in rates or m[1] == "EUR":
            msg = f"expected CCY=RATE items (a positive ECB euro rate per non-EUR currency), got {item!r}"
            raise ValidationError(msg, field="base_rates")
        rates[m[1]] = Decimal(m[2])
    return rates


def mga_facts(views: ViewStore, day: dt.date, jurisdictions: Collection[str]) -> MgaFacts:
    """The report rows for ``day``: wallet rows of ``jurisdictions`` up to it, pools' latest levels.

    Raises:
        NotFoundError: no wallet movement and no jackpot movement on ``day`` in ``jurisdictions``.
    """
    d = day.isoformat()
    wallets = [
        r for j in sorted(jurisdictions) for r in views.scan("report_wallet", f"{j}|") if r["day"] <= d
    ]
    jackpots = [
        row
        for pool in views.scan("report_pool", "")
        if set(pool["jurisdictions"]) & set(jurisdictions) and (row := _level_row(views, pool["pool"], d))
    ]
    if not any(r["day"] == d for r in [*wallets, *jackpots]):
        msg = f"no report facts on {d} for {', '.join(sorted(jurisdictions))}"
        raise NotFoundError(msg, field="day")
    return MgaFacts(wallets, jackpots)


def _level_row(views: ViewStore, pool: str, day: str) -> Doc | None:
    """The pool's row of ``day``, else of its latest earlier day (its month first, then all of it)."""
    for prefix in (f"{pool}|{day[:7]}", f"{pool}|"):
        rows = [r for r in views.scan("report_jackpot", prefix) if r["day"] <= day]
        if rows:
            return rows[-1]
    return None


def compliance_summary(
    day: dt.date,
    facts: MgaFacts,
    config: MgaConfig,
    *,
    created_at: dt.datetime,
    base_rates: Mapping[str, Decimal] | None = None,
    version: int = 0,
) -> bytes:
    """The ``B2CCompSmryRpt`` XML of ``day`` (UTF-8 bytes, with the XML declaration).

    ``created_at`` (aware, UTC) is ``CrtDtTm``; ``version`` is ``VrsNb`` (0, incremented only
    when the same day is resubmitted); ``base_rates`` gives each non-EUR currency's ECB rate.

    Raises:
        ValidationError: the day has not ended at ``created_at``, a non-EUR currency has no
            base rate, ``version`` is negative, or a jackpot pool id is longer than 35 characters.
    """
    start = _ended(day, created_at)
    if version < 0:
        raise ValidationError(f"must be 0 or more, got {version}", field="version")
    root = ET.Element("mga:B2CCompSmryRpt", {"xmlns:mga": "MGA", "xmlns:rri": "RRI"})
    root.append(_header(start, created_at, config, version))
    currencies = {r["currency"] for r in [*facts.wallets, *facts.jackpots]}
    for ccy in sorted(currencies):
        element = ET.SubElement(root, "mga:CCY", {"CCY": ccy, "BaseRate": str(_rate(ccy, base_rates or {}))})
        jackpots = [e for r in facts.jackpots if r["currency"] == ccy for e in _jackpots(r, day.isoformat())]
        if jackpots:
            ET.SubElement(element, "mga:B2CJckPtsSmry").extend(jackpots)
        wallets = [r for r in facts.wallets if r["currency"] == ccy]
        element.append(_activity(_account(wallets, day.isoformat()), ccy))
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return data


def mga_report(
    views: ViewStore,
    day: dt.date,
    config: MgaConfig,
    *,
    created_at: dt.datetime,
    base_rates: Mapping[str, Decimal] | None = None,
    version: int = 0,
) -> bytes:
    """Read the day's facts and build its report (see :func:`mga_facts`, :func:`compliance_summary`)."""
    _ended(day, created_at)  # before the facts: an unfinished day is a 422, not a 404
    facts = mga_facts(views, day, config.jurisdictions)
    return compliance_summary(
        day, facts, config, created_at=created_at, base_rates=base_rates, version=version
    )


def _ended(day: dt.date, created_at: dt.datetime) -> dt.datetime:
    """The day's start, once ``created_at`` is at or after its end.

    Raises:
        ValidationError: the day has not ended at ``created_at``.
    """
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    if created_at < start + dt.timedelta(days=1):
        raise ValidationError(f"{day} has not ended yet (a report covers 00:00-24:00 UTC)", field="day")
    return start


def _leaf(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _utc(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _header(start: dt.datetime, created_at: dt.datetime, config: MgaConfig, version: int) -> ET.Element:
    header = ET.Element("mga:Header")
    for tag, text in (
        ("Tp", "Report"),
        ("PrdTp", "Periodic"),
        ("Ctgy", "Summary"),
        ("CrtDtTm", _utc(created_at)),
        ("RprtStrtDt", _utc(start)),
        ("RptPrd", "P1D"),
        ("RprtToCntry", "MT"),
        ("RprtOprtr", config.operator),
        *(("RprtURL", url) for url in config.urls),
        ("VrsNb", str(version)),
    ):
        _leaf(header, tag, text)
    return header


def _rate(ccy: str, base_rates: Mapping[str, Decimal]) -> Decimal:
    if ccy == "EUR":
        return Decimal(1)
    if ccy not in base_rates:
        msg = f"no ECB euro base rate for {ccy}, which the report holds; give it as {ccy}=RATE"
        raise ValidationError(msg, field="base_rates")
    return base_rates[ccy]


def _money(value: Decimal, ccy: str) -> str:
    """``value`` at the currency's scale; raises ``decimal.Inexact`` rather than round."""
    return f"{value.quantize(Decimal(1).scaleb(-CURRENCY_SCALE[ccy]), context=_EXACT):f}"


def _net(row: Doc) -> Decimal:
    income = sum(map(Decimal, row["credits"].values()), Decimal(0))
    return income - sum(map(Decimal, row["debits"].values()), Decimal(0))


def _account(wallets: list[Doc], day: str) -> dict[str, Decimal]:
    """Opening balance, the day's movements by element, closing balance (``TtlFndsInPly``)."""
    opening = sum((_net(r) for r in wallets if r["day"] < day), Decimal(0))
    totals = dict.fromkeys(_SUMMARY, Decimal(0))
    for r in wallets:
        if r["day"] == day:
            for reason, value in r["credits"].items():
                totals[_CREDIT.get(reason, "TtlCashInOthr")] += Decimal(value)
            for reason, value in r["debits"].items():
                totals[_DEBIT.get(reason, "TtlCashOutOthr")] += Decimal(value)
    closing = opening + sum((_net(r) for r in wallets if r["day"] == day), Decimal(0))
    return totals | {"OpnBlc": opening, "TtlFndsInPly": closing}  # TtlBlckd stays 0: docs/reports.md


def _activity(account: dict[str, Decimal], ccy: str) -> ET.Element:
    by_type = ET.Element("mga:AcctActvySmrybyPlyrTp")
    _leaf(by_type, "PlyrTp", "Other")  # PlayerTypes1 lists land-based types only
    summary = ET.SubElement(by_type, "AccActvySmry")
    for tag in _SUMMARY:
        _leaf(summary, tag, _money(account[tag], ccy))
    return by_type


def _jackpots(row: Doc, day: str) -> list[ET.Element]:
    """The jackpots won on ``day`` (ended), then the one running at its end, of one pool."""
    if len(row["pool"]) > JACKPOT_NAME_MAX:
        msg = f"jackpot pool id {row['pool']} is longer than MGA's {JACKPOT_NAME_MAX} characters (JckptNm)"
        raise ValidationError(msg, field="jackpot_pool_id")
    won = row["wins"] if row["day"] == day else []
    ended = [_jackpot(row, w["amount"], w["started"], "Won") for w in won]
    return [*ended, _jackpot(row, row["level"], row["started"], None)]


def _jackpot(row: Doc, amount: str, started: str, end: str | None) -> ET.Element:
    jackpot = ET.Element("Jackpot")
    for tag, text in (
        ("JckptNm", row["pool"]),
        ("JckptPrzTp", "Progressive"),  # the catalogue's pools grow with contributions
        ("JckptPlTp", "Other"),  # the ledger does not record how a pool is linked
        ("CCY", row["currency"]),
        ("JckptAmnt", _money(Decimal(amount), row["currency"])),
        ("JckptStrtDt", started),
        *((("JckptEndTp", end),) if end else ()),
    ):
        _leaf(jackpot, f"rri:{tag}", text)
    return jackpot
