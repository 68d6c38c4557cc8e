"""Report facts: exact money and counts per day, jurisdiction, currency and game.

``report_day`` rows are keyed ``<day>|<jurisdiction>|<currency>|<game>`` (``-`` where a fact
has no currency or game): bets, wins and rolled-back stakes per game; deposits, withdrawals,
refunds, chargebacks and bonus cost per currency; KYC/AML/RG counts per jurisdiction.
GGR = bets - wins - rolled-back stakes; NGR = GGR - bonus cost (converted bonuses); both are
derived at read time from the stored exact sums. ``report_rtp`` holds bets and wins per
month, game and game version beside the version's theoretical RTP; ``report_pool`` each
jackpot pool's contributions, triggered amounts and payouts.

For account-level regulatory reports (``projections.mga``): ``report_wallet`` rows, keyed
``<jurisdiction>|<currency>|<day>``, hold the day's wallet credits and debits per wallet
``reason``, so a balance at any midnight is the sum of the movements of the days before it
(late, back-dated events land on their own day); ``report_jackpot`` rows, keyed
``<pool>|<day>``, hold a pool's level after its last movement of the day, the start day of
the jackpot then running, and the wins of the day. Days are UTC days of ``occurred_at``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from ledger.errors import ValidationError
from ledger.event import ReadEvent
from projections.money import add, amount
from projections.ports import Doc, ViewStore
from projections.runner import Docs, Need

_DAY_PREFIX = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
_MONEY_BY_GAME = {
    "round.bet_placed": ("bets", "bet_amount"),
    "round.win_recorded": ("wins", "win_amount"),
    "round.rolled_back": ("rolled_back", "refunded_amount"),
}
_MONEY = {
    "payment.deposit_settled": "deposits",
    "payment.withdrawal_settled": "withdrawals",
    "payment.deposit_refunded": "refunds",
    "payment.chargeback_received": "chargebacks",
    "bonus.converted": "bonus_cost",
    "jackpot.contributed": "jackpot_contributions",
    "jackpot.paid": "jackpot_payouts",
}
_COUNTS = {
    "kyc.decided": None,
    "aml.alert_raised": "aml_alerts",
    "aml.case_opened": "aml_cases_opened",
    "aml.sar_filed": "sars_filed",
    "rg.limit_set": "rg_limits_set",
    "rg.self_exclusion_started": "self_exclusions",
    "rg.timeout_started": "timeouts",
    "rg.intervention_recorded": "rg_interventions",
}
_ROUND_END = frozenset({"round.settled", "round.rolled_back"})
_DAY_ROW = frozenset(_MONEY_BY_GAME) | frozenset(_MONEY) | frozenset(_COUNTS) | {"round.settled"}
_WALLET = frozenset({"wallet.credited", "wallet.debited"})
_POOL_LEVEL = {"jackpot.contributed": "pool_after", "jackpot.triggered": "pool_reset_to"}


class ReportProjection:
    """Fold money and regulatory counts into report facts."""

    name = "reports"
    version = 2
    topics = _DAY_ROW | _WALLET | {"round.started", "game.version_released", "jackpot.triggered"}
    tables: tuple[str, ...] = (
        "report_day",
        "report_rtp",
        "report_pool",
        "report_round",
        "report_release",
        "report_wallet",
        "report_jackpot",
    )

    def needs(self, fact: ReadEvent) -> Iterable[Need]:
        """The day row, the round's version, the pool and its day, the wallet day."""
        p, t = fact.payload, fact.type
        if t == "game.version_released":
            return ()
        if t in _WALLET:
            return (("report_wallet", _wallet_key(fact)),)
        out: list[Need] = [("report_day", _day_key(fact))] if t in _DAY_ROW else []
        if t.startswith("round."):
            out.append(("report_round", p["round_id"]))
        if t == "round.started":
            out.append(("report_release", p["game_version_hash"]))
        if t.startswith("jackpot."):
            out.append(("report_pool", p["jackpot_pool_id"]))
        if t in _POOL_LEVEL:
            out.append(("report_jackpot", f"{p['jackpot_pool_id']}|{fact.occurred_at[:10]}"))
        return out

    def apply(self, fact: ReadEvent, docs: Docs) -> None:
        """Fold one fact."""
        p, t = fact.payload, fact.type
        if t == "game.version_released":
            docs.put(
                "report_release",
                p["game_version_hash"],
                {"game_code": p["game_code"], "rtp_theoretical": p["rtp_theoretical"]},
            )
            return
        if t in _WALLET:
            _wallet(fact, docs)
            return
        if t.startswith("round."):
            _round(fact, docs)
        if t in _DAY_ROW:
            key = _day_key(fact)
            row = docs.get("report_day", key) or _row(key)
            _fold_day(row, fact)
            docs.put("report_day", key, row)
        if t.startswith("jackpot."):
            _pool(fact, docs)


def _game(fact: ReadEvent) -> str:
    return str(fact.payload["game_code"]) if fact.type.startswith("round.") else "-"


def _currency(fact: ReadEvent) -> str:
    p = fact.payload
    if fact.type in _MONEY_BY_GAME:
        return str(p[_MONEY_BY_GAME[fact.type][1]]["currency"])
    if fact.type == "round.settled":
        return str(p["total_bet"]["currency"])
    return str(p["amount"]["currency"]) if fact.type in _MONEY else "-"


def _day_key(fact: ReadEvent) -> str:
    return f"{fact.occurred_at[:10]}|{fact.jurisdiction}|{_currency(fact)}|{_game(fact)}"


def _row(key: str) -> Doc:
    day, jurisdiction, currency, game = key.split("|")
    return {
        "day": day,
        "jurisdiction": jurisdiction,
        "currency": currency,
        "game": game,
        "money": {},
        "counts": {},
    }


def _fold_day(row: Doc, fact: ReadEvent) -> None:
    p, t = fact.payload, fact.type
    if t in _MONEY_BY_GAME:
        name, field = _MONEY_BY_GAME[t]
        row["money"][name] = add(row["money"].get(name), amount(p[field]))
    elif t in _MONEY:
        row["money"][_MONEY[t]] = add(row["money"].get(_MONEY[t]), amount(p["amount"]))
    counter = (
        "rounds_settled"
        if t == "round.settled"
        else _COUNTS.get(t) or (f"kyc_{p['kyc_status']}" if t == "kyc.decided" else None)
    )
    if counter is not None:
        row["counts"][counter] = row["counts"].get(counter, 0) + 1


def _round(fact: ReadEvent, docs: Docs) -> None:
    p, t = fact.payload, fact.type
    if t == "round.started":
        release = docs.get("report_release", p["game_version_hash"]) or {}
        docs.put(
            "report_round",
            p["round_id"],
            {"hash": p["game_version_hash"], "rtp_theoretical": release.get("rtp_theoretical")},
        )
        return
    info = docs.get("report_round", p["round_id"])
    if t in _ROUND_END:
        docs.put("report_round", p["round_id"], None)
    if info is None or t not in _MONEY_BY_GAME:
        return
    key = f"{fact.occurred_at[:7]}|{p['game_code']}|{info['hash']}"
    rtp = docs.get("report_rtp", key) or {
        "month": fact.occurred_at[:7],
        "game": p["game_code"],
        "game_version_hash": info["hash"],
        "rtp_theoretical": info["rtp_theoretical"],
        "bets": {},
        "wins": {},
    }
    money = p[_MONEY_BY_GAME[t][1]]
    side, sign = ("wins", 1) if t == "round.win_recorded" else ("bets", 1 if t == "round.bet_placed" else -1)
    rtp[side][money["currency"]] = add(rtp[side].get(money["currency"]), sign * amount(money))
    docs.put("report_rtp", key, rtp)


def _wallet_key(fact: ReadEvent) -> str:
    return f"{fact.jurisdiction}|{fact.payload['amount']['currency']}|{fact.occurred_at[:10]}"


def _wallet(fact: ReadEvent, docs: Docs) -> None:
    p, key = fact.payload, _wallet_key(fact)
    row = docs.get("report_wallet", key) or {
        "jurisdiction": fact.jurisdiction,
        "currency": p["amount"]["currency"],
        "day": fact.occurred_at[:10],
        "credits": {},
        "debits": {},
    }
    side = row["credits" if fact.type == "wallet.credited" else "debits"]
    side[p["reason"]] = add(side.get(p["reason"]), amount(p["amount"]))
    docs.put("report_wallet", key, row)


def _pool(fact: ReadEvent, docs: Docs) -> None:
    p, day = fact.payload, fact.occurred_at[:10]
    pool = docs.get("report_pool", p["jackpot_pool_id"]) or {
        "pool": p["jackpot_pool_id"],
        "contributions": "0",
        "payouts": "0",
        "triggered": "0",
        "started": day,
        "jurisdictions": [],
    }
    field = {
        "jackpot.contributed": "contributions",
        "jackpot.paid": "payouts",
        "jackpot.triggered": "triggered",
    }[fact.type]
    pool[field] = add(pool[field], amount(p["amount"]))
    pool["currency"] = p["amount"]["currency"]
    pool["jurisdictions"] = sorted({*pool["jurisdictions"], fact.jurisdiction})
    win = None
    if fact.type == "jackpot.triggered":  # the running jackpot ends; the reset pool starts a new one
        win = {"amount": p["amount"]["amount"], "started": pool["started"]}
        pool["started"] = day
    docs.put("report_pool", p["jackpot_pool_id"], pool)
    if fact.type in _POOL_LEVEL:
        _pool_day(fact, docs, pool["started"], win)


def _pool_day(fact: ReadEvent, docs: Docs, started: str, win: Doc | None) -> None:
    """Keep the pool's level after its latest movement of the day (by occurred_at, then position)."""
    p, day = fact.payload, fact.occurred_at[:10]
    key = f"{p['jackpot_pool_id']}|{day}"
    row = docs.get("report_jackpot", key) or {
        "pool": p["jackpot_pool_id"],
        "currency": p["amount"]["currency"],
        "day": day,
        "at": None,
        "wins": [],
    }
    at = [fact.occurred_at, fact.position]
    if row["at"] is None or at >= row["at"]:
        row.update(at=at, level=p[_POOL_LEVEL[fact.type]]["amount"], started=started)
    if win is not None:
        row["wins"].append(win)
    docs.put("report_jackpot", key, row)


def with_totals(row: Doc) -> Doc:
    """A day row with GGR and NGR derived from its exact sums."""
    m = {k: Decimal(v) for k, v in row["money"].items()}
    ggr = m.get("bets", Decimal(0)) - m.get("wins", Decimal(0)) - m.get("rolled_back", Decimal(0))
    return {**row, "ggr": str(ggr), "ngr": str(ggr - m.get("bonus_cost", Decimal(0)))}


def report(views: ViewStore, day_prefix: str = "") -> dict[str, list[Doc]]:
    """Report facts (days starting with ``day_prefix``, e.g. ``2026-01``), RTP rows and pools.

    Raises:
        ValidationError: ``day_prefix`` is not ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.
    """
    if day_prefix and _DAY_PREFIX.fullmatch(day_prefix) is None:
        msg = f"expected a day prefix YYYY, YYYY-MM or YYYY-MM-DD, got {day_prefix!r}"
        raise ValidationError(msg, field="day")
    days = [with_totals(r) for r in views.scan("report_day", day_prefix)]
    rtp = views.scan("report_rtp", day_prefix[:7])
    for r in rtp:
        bets, wins = r["bets"], r["wins"]
        r["rtp_actual"] = {
            c: str(Decimal(wins.get(c, 0)) / Decimal(b)) if Decimal(b) else None for c, b in bets.items()
        }
    return {"days": days, "rtp": rtp, "pools": views.scan("report_pool", "")}
