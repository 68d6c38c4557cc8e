"""Round reconstruction: one document per ``round_id`` with every step and consistency flags.

The document carries the game, its version hash and release (from ``game.version_released``),
the player, every bet, outcome and win with balances before/after, bonus phases, jackpot
contribution, trigger and payout (with the payout transaction), the technical status, the
timeline and the global positions of all underlying events. Flags name what does not add up:
``settled_without_bet``, ``balance_chain_broken`` (a step's balance_before differs from the
previous balance_after; the wallet moved outside the round), ``win_without_outcome``,
``rollback_after_settlement``, ``step_gap``, ``totals_mismatch`` (settled totals differ from
the steps: total_bet is net of rolled-back stakes), and, at read time, ``jackpot_unpaid``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ledger.errors import NotFoundError
from ledger.event import ReadEvent
from projections.money import add, amount
from projections.ports import Doc, ViewStore
from projections.runner import Docs, Need

# Every step keeps its payload but the fields the round document already holds.
_ROUND_FIELDS = frozenset({"round_id", "step", "player_ref", "game_code"})


class RoundProjection:
    """Fold round, jackpot and release events into round documents."""

    name = "rounds"
    version = 1
    topics = frozenset(
        {
            "round.started",
            "round.bet_placed",
            "round.outcome_determined",
            "round.win_recorded",
            "round.settled",
            "round.rolled_back",
            "round.retried",
            "round.bonus_phase_entered",
            "jackpot.contributed",
            "jackpot.triggered",
            "jackpot.paid",
            "game.version_released",
        }
    )
    tables: tuple[str, ...] = ("round", "round_release")

    def needs(self, fact: ReadEvent) -> Iterable[Need]:
        """The round (and, for a start, its game release)."""
        p = fact.payload
        if fact.type == "game.version_released":
            return ()
        if fact.type == "round.started":
            return (("round", p["round_id"]), ("round_release", p["game_version_hash"]))
        return (("round", p["round_id"]),)

    def apply(self, fact: ReadEvent, docs: Docs) -> None:
        """Fold one event."""
        p = fact.payload
        if fact.type == "game.version_released":
            release = {
                "release_id": p["release_id"],
                "rtp_theoretical": p["rtp_theoretical"],
                "game_code": p["game_code"],
            }
            docs.put("round_release", p["game_version_hash"], release)
            return
        doc = docs.get("round", p["round_id"]) or _new(p["round_id"])
        if fact.type.startswith("jackpot."):
            _jackpot(doc, fact)
        else:
            _step(doc, fact, docs)
        doc["positions"].append(fact.position)
        docs.put("round", p["round_id"], doc)


def _new(round_id: str) -> Doc:
    return {
        "round_id": round_id,
        "player_ref": None,
        "game_code": None,
        "game_version_hash": None,
        "release": None,
        "jurisdiction": None,
        "currency": None,
        "session_id": None,
        "bonus_id": None,
        "jackpot_pool_id": None,
        "started_at": None,
        "ended_at": None,
        "technical_status": None,
        "settled": False,
        "total_bet": "0",
        "total_win": "0",
        "total_refunded": "0",
        "bets": 0,
        "outcomes": 0,
        "balance_start": None,
        "balance_end": None,
        "steps": [],
        "phases": [],
        "retries": 0,
        "jackpot": {"contributions": [], "trigger": None, "payout": None},
        "positions": [],
        "flags": [],
    }


def _flag(doc: Doc, name: str) -> None:
    if name not in doc["flags"]:
        doc["flags"].append(name)
        doc["flags"].sort()


def _step(doc: Doc, fact: ReadEvent, docs: Docs) -> None:
    p, kind = fact.payload, fact.type.removeprefix("round.")
    if p["step"] != len(doc["steps"]):
        _flag(doc, "step_gap")
    entry: Doc = {"step": p["step"], "type": kind, "position": fact.position, "occurred_at": fact.occurred_at}
    entry.update((k, v) for k, v in p.items() if v is not None and k not in _ROUND_FIELDS)
    doc["steps"].append(entry)
    if kind == "started":
        _started(doc, fact, docs)
    elif kind in {"bet_placed", "win_recorded", "rolled_back"}:
        _balances(doc, p, kind)
        if kind == "rolled_back":
            doc["ended_at"] = fact.occurred_at
    elif kind == "outcome_determined":
        doc["game_version_hash"] = doc["game_version_hash"] or p["game_version_hash"]
        doc["outcomes"] += 1
    elif kind == "settled":
        _settled(doc, fact)
    elif kind == "retried":
        doc["retries"] += 1
    elif kind == "bonus_phase_entered":
        doc["phases"].append(
            {
                "phase": p["phase"],
                "step": p["step"],
                "spins_awarded": p.get("spins_awarded"),
                "trigger": p.get("trigger"),
            }
        )
    doc["player_ref"] = doc["player_ref"] or p["player_ref"]
    doc["game_code"] = doc["game_code"] or p["game_code"]
    doc["jurisdiction"] = doc["jurisdiction"] or fact.jurisdiction


def _started(doc: Doc, fact: ReadEvent, docs: Docs) -> None:
    p = fact.payload
    doc.update(
        game_version_hash=p["game_version_hash"],
        session_id=p.get("session_id"),
        bonus_id=p.get("bonus_id"),
        jackpot_pool_id=p.get("jackpot_pool_id"),
        started_at=fact.occurred_at,
        release=docs.get("round_release", p["game_version_hash"]),
    )


def _balances(doc: Doc, p: dict[str, Any], kind: str) -> None:
    if kind == "win_recorded" and not doc["outcomes"]:
        _flag(doc, "win_without_outcome")
    if kind == "rolled_back" and doc["settled"]:
        _flag(doc, "rollback_after_settlement")
    before, after = p["balance_before"], p["balance_after"]
    if doc["balance_end"] is not None and amount(before) != amount(doc["balance_end"]):
        _flag(doc, "balance_chain_broken")
    doc["balance_start"] = doc["balance_start"] or before
    doc["balance_end"] = after
    doc["currency"] = after["currency"]
    if kind == "bet_placed":
        doc["bets"] += 1
        doc["total_bet"] = add(doc["total_bet"], amount(p["bet_amount"]))
    elif kind == "win_recorded":
        doc["total_win"] = add(doc["total_win"], amount(p["win_amount"]))
    else:
        doc["technical_status"] = "rollback"
        doc["total_refunded"] = add(doc["total_refunded"], amount(p["refunded_amount"]))


def _settled(doc: Doc, fact: ReadEvent) -> None:
    p = fact.payload
    if not doc["bets"]:
        _flag(doc, "settled_without_bet")
    net_bet = Decimal(doc["total_bet"]) - Decimal(doc["total_refunded"])
    if amount(p["total_bet"]) != net_bet or amount(p["total_win"]) != Decimal(doc["total_win"]):
        _flag(doc, "totals_mismatch")
    doc.update(settled=True, technical_status=p["technical_status"], ended_at=fact.occurred_at)


def _jackpot(doc: Doc, fact: ReadEvent) -> None:
    p, jp = fact.payload, doc["jackpot"]
    if fact.type == "jackpot.contributed":
        jp["contributions"].append(
            {
                "pool": p["jackpot_pool_id"],
                "amount": p["amount"],
                "pool_after": p["pool_after"],
                "position": fact.position,
            }
        )
    elif fact.type == "jackpot.triggered":
        jp["trigger"] = {
            "pool": p["jackpot_pool_id"],
            "amount": p["amount"],
            "trigger_event_id": p["trigger_event_id"],
            "event_id": fact.event_id,
            "position": fact.position,
        }
    else:
        jp["payout"] = {
            "payout_tx_id": p["payout_tx_id"],
            "amount": p["amount"],
            "trigger_event_id": p["trigger_event_id"],
            "position": fact.position,
        }


def reconstruct_round(views: ViewStore, round_id: str) -> Doc:
    """The reconstructed round, with read-time flags.

    Raises:
        NotFoundError: no event of that round was recorded.
    """
    doc = views.get("round", round_id)
    if doc is None:
        msg = f"no round {round_id}"
        raise NotFoundError(msg, field="round_id")
    jp = doc["jackpot"]
    if jp["trigger"] is not None and jp["payout"] is None:
        doc["flags"] = sorted({*doc["flags"], "jackpot_unpaid"})
    doc["positions"].sort()
    return doc
