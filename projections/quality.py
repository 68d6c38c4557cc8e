"""Data quality: counts with examples, per check, folded from the log.

Event checks (``quality_check``, a count and the first five examples by position):
``round_step_gap`` and ``round_step_duplicate`` (completeness/uniqueness of round steps),
``payment_status_duplicate`` (the same status twice for one transaction),
``wallet_balance_chain_broken`` (balance_before differs from the wallet's previous
balance_after), ``timeliness`` (``recorded_at - occurred_at``: count, max, buckets).
Open-set checks (``quality_open``, one row per open item, removed when resolved):
``payment_not_terminal`` (no settled/cancelled status yet), ``round_not_settled``,
``jackpot_unpaid`` (triggered, no payout yet).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

from ledger.catalogue import CATALOGUE
from ledger.event import ReadEvent
from projections.ports import Doc, ViewStore
from projections.runner import Docs, Need

EXAMPLES = 5
_TERMINAL = frozenset(
    {
        "payment.deposit_settled",
        "payment.deposit_cancelled",
        "payment.withdrawal_settled",
        "payment.withdrawal_cancelled",
    }
)
_BUCKETS = ((1_000, "lt_1s"), (60_000, "lt_1m"), (3_600_000, "lt_1h"), (86_400_000, "lt_1d"))
OPEN_CHECKS = ("jackpot_unpaid", "payment_not_terminal", "round_not_settled")


@functools.lru_cache(maxsize=4096)
def _second(prefix: str) -> int:
    return int(dt.datetime.fromisoformat(prefix).replace(tzinfo=dt.UTC).timestamp())


def _ms(ts: str) -> int:
    """Epoch milliseconds of a canonical ``YYYY-MM-DDTHH:MM:SS.mmmZ`` timestamp."""
    return _second(ts[:19]) * 1000 + int(ts[20:23])


class QualityProjection:
    """Fold every event into data-quality counters and open sets."""

    name = "quality"
    version = 1
    topics = frozenset(t.name for t in CATALOGUE)  # every type: timeliness looks at all events
    tables: tuple[str, ...] = (
        "quality_check",
        "quality_open",
        "quality_round",
        "quality_wallet",
        "quality_payment",
    )

    def needs(self, fact: ReadEvent) -> Iterable[Need]:
        """The counters and the per-entity state the checks compare against."""
        yield "quality_check", "timeliness"
        t, p = fact.type, fact.payload
        if t.startswith("round."):
            yield "quality_round", p["round_id"]
        elif t.startswith("wallet."):
            yield "quality_wallet", fact.stream
        elif t.startswith("payment."):
            yield "quality_payment", p["txn_id"]

    def apply(self, fact: ReadEvent, docs: Docs) -> None:
        """Run every check that applies to the fact."""
        _timeliness(fact, docs)
        t, p = fact.type, fact.payload
        if t.startswith("round."):
            _round(fact, docs)
        elif t.startswith("wallet."):
            state = docs.get("quality_wallet", fact.stream)
            if state is not None and state["balance"] != p["balance_before"]["amount"]:
                _count(
                    docs,
                    "wallet_balance_chain_broken",
                    fact,
                    f"expected balance_before {state['balance']}, got {p['balance_before']['amount']}",
                )
            docs.put("quality_wallet", fact.stream, {"balance": p["balance_after"]["amount"]})
        elif t.startswith("payment."):
            _payment(fact, docs)
        elif t == "jackpot.triggered":
            docs.put(
                "quality_open", f"jackpot_unpaid/{fact.event_id}", _example(fact, f"round {p['round_id']}")
            )
        elif t == "jackpot.paid":
            docs.put("quality_open", f"jackpot_unpaid/{p['trigger_event_id']}", None)


def _example(fact: ReadEvent, detail: str) -> Doc:
    return {"position": fact.position, "stream": fact.stream, "type": fact.type, "detail": detail}


def _count(docs: Docs, check: str, fact: ReadEvent, detail: str) -> None:
    doc = docs.get("quality_check", check) or {"check": check, "count": 0, "examples": []}
    doc["count"] += 1
    if len(doc["examples"]) < EXAMPLES:
        doc["examples"].append(_example(fact, detail))
    docs.put("quality_check", check, doc)


def _timeliness(fact: ReadEvent, docs: Docs) -> None:
    lag = _ms(fact.recorded_at) - _ms(fact.occurred_at)
    doc = docs.get("quality_check", "timeliness") or {
        "check": "timeliness",
        "count": 0,
        "max_lag_ms": None,
        "buckets": {},
        "examples": [],
    }
    doc["count"] += 1
    bucket = next((name for limit, name in _BUCKETS if lag < limit), "ge_1d")
    doc["buckets"][bucket] = doc["buckets"].get(bucket, 0) + 1
    if doc["max_lag_ms"] is None or lag > doc["max_lag_ms"]:
        doc["max_lag_ms"] = lag
        doc["examples"] = [_example(fact, f"recorded {lag} ms after it occurred")]
    docs.put("quality_check", "timeliness", doc)


def _round(fact: ReadEvent, docs: Docs) -> None:
    p = fact.payload
    state = docs.get("quality_round", p["round_id"]) or {"next_step": 0}
    if p["step"] > state["next_step"]:
        _count(docs, "round_step_gap", fact, f"expected step {state['next_step']}, got {p['step']}")
    elif p["step"] < state["next_step"]:
        _count(docs, "round_step_duplicate", fact, f"step {p['step']} seen before")
    docs.put("quality_round", p["round_id"], {"next_step": max(state["next_step"], p["step"] + 1)})
    if fact.type == "round.started":
        docs.put("quality_open", f"round_not_settled/{p['round_id']}", _example(fact, "started, not settled"))
    elif fact.type in {"round.settled", "round.rolled_back"}:
        docs.put("quality_open", f"round_not_settled/{p['round_id']}", None)


def _payment(fact: ReadEvent, docs: Docs) -> None:
    p = fact.payload
    state = docs.get("quality_payment", p["txn_id"]) or {"statuses": []}
    if fact.type in state["statuses"]:
        _count(docs, "payment_status_duplicate", fact, f"{fact.type} recorded again for {p['txn_id']}")
    docs.put("quality_payment", p["txn_id"], {"statuses": sorted({*state["statuses"], fact.type})})
    if not state["statuses"]:
        docs.put(
            "quality_open", f"payment_not_terminal/{p['txn_id']}", _example(fact, "no terminal status yet")
        )
    if fact.type in _TERMINAL:
        docs.put("quality_open", f"payment_not_terminal/{p['txn_id']}", None)


def quality_report(views: ViewStore) -> list[Doc]:
    """Every check with its count and up to five examples."""
    checks = {d["check"]: d for d in views.scan("quality_check", "")}
    for name in (
        "payment_status_duplicate",
        "round_step_duplicate",
        "round_step_gap",
        "wallet_balance_chain_broken",
    ):
        checks.setdefault(name, {"check": name, "count": 0, "examples": []})
    for name in OPEN_CHECKS:
        rows = views.scan("quality_open", f"{name}/")
        checks[name] = {"check": name, "count": len(rows), "examples": rows[:EXAMPLES]}
    return [checks[k] for k in sorted(checks)]
