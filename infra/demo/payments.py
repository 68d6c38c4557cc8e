"""Payments: deposits (with crypto address screening), withdrawals and payouts, refunds, chargebacks.

Each flow walks one ``Payment:<txn>`` stream through the PSP's states and moves the wallet
through :func:`~infra.demo.world._wallet` only when the money really moves.
"""

from __future__ import annotations

from typing import Any

from infra.demo.bonus import _forfeit
from infra.demo.kyc_aml import _alert, _decision
from infra.demo.markets import _PSP
from infra.demo.world import (
    _CASHIER,
    _HOUR,
    _KYC,
    _MARCO,
    _SECOND,
    Actor,
    Flow,
    Json,
    _Player,
    _wallet,
    _World,
)


def _pay(
    w: _World, p: _Player, etype: str, txn: str, amount: int, trace: str,
    actor: Actor = _CASHIER, **extra: Any,
) -> None:  # fmt: skip
    payload = {"txn_id": txn, "player_ref": p.ref, "amount": p.money(amount), **extra}
    w.emit(etype, f"Payment:{txn}", payload, actor, trace, p.market.jurisdiction)


def _instrument(p: _Player) -> Json:
    """The sealed personal details of the player's payment instrument."""
    if p.method == "card":
        return {"card_holder_name": " ".join(p.name).upper()}
    if p.method == "bank_transfer":
        return {"iban": p.iban}
    return {}


def _deposit(w: _World, p: _Player, amount: int, outcome: str = "settled") -> Flow:
    txn, trace, psp = w.ref("dep"), w.trace(), _PSP[p.method]
    if p.deposit_limit is not None and p.deposited + amount > p.deposit_limit:
        _pay(w, p, "payment.deposit_cancelled", txn, amount, trace, psp=psp, reason="limit_exceeded")
        return False
    if p.method == "crypto" and not p.address:
        yield from _kyt(w, p)
    _pay(w, p, "payment.deposit_authorized", txn, amount, trace, psp=psp, method=p.method,
         psp_reference=f"auth-{txn}", **_instrument(p))  # fmt: skip
    yield w.between(800, 4000)
    if outcome != "settled":
        _pay(w, p, "payment.deposit_cancelled", txn, amount, trace, psp=psp, reason=outcome,
             detail="3-D Secure not completed")  # fmt: skip
        return False
    _pay(w, p, "payment.deposit_captured", txn, amount, trace, psp=psp, psp_reference=f"psp-{txn}")
    yield w.between(300, 1500)
    _pay(w, p, "payment.deposit_settled", txn, amount, trace, psp=psp, psp_reference=f"psp-{txn}",
         fee=p.money(amount // 100), settlement_batch=f"batch-{w.now // _HOUR}")  # fmt: skip
    _wallet(w, p, "wallet.credited", amount, "deposit", txn, trace)
    p.deposited += amount
    p.deposits.append((txn, amount))
    return True


def _kyt(w: _World, p: _Player) -> Flow:
    p.address = f"bc1q{w.sha256()[:38]}"
    payload = {"player_ref": p.ref, "screening_id": w.ref("kyt"), "chain": "BTC", "address": p.address,
               "provider": "chainalysis", "risk_score": w.between(50, 400), "categories": ["exchange"],
               "screened_at": w.ts()}  # fmt: skip
    w.emit("kyt.address_screened", p.stream, payload, _KYC, w.trace(), p.market.jurisdiction)
    yield w.between(500, 2000)
    return True


def _withdraw(w: _World, p: _Player, cancel: bool = False) -> Flow:
    txn, trace, amount = w.ref("wdr"), w.trace(), p.balance
    if amount <= 0:
        return False
    _forfeit(w, p, "withdrawal")
    destination = {"crypto_address": p.address} if p.method == "crypto" else _instrument(p)
    destination.pop("card_holder_name", None)
    _pay(w, p, "payment.withdrawal_requested", txn, amount, trace, method=p.method, psp=_PSP[p.method],
         **destination)  # fmt: skip
    _wallet(w, p, "wallet.debited", amount, "withdrawal", txn, trace)
    yield w.between(5 * _SECOND, 60 * _SECOND)
    if cancel:
        _pay(w, p, "payment.withdrawal_cancelled", txn, amount, trace, reason="player",
             detail="player reversed the withdrawal")  # fmt: skip
        _wallet(w, p, "wallet.credited", amount, "withdrawal", txn, trace)
        return False
    yield from _payout(w, p, txn, amount, trace)
    return True


def _payout(w: _World, p: _Player, txn: str, amount: int, trace: str) -> Flow:
    psp = _PSP[p.method]
    if amount >= 2 * p.market.deposits[-1]:  # large payouts need a second pair of eyes
        _pay(w, p, "payment.withdrawal_authorized", txn, amount, trace, _MARCO, psp=psp, approval="manual",
             approved_by=_MARCO[1])  # fmt: skip
    else:
        _pay(w, p, "payment.withdrawal_authorized", txn, amount, trace, psp=psp, approval="automatic")
    yield w.between(2 * _SECOND, 30 * _SECOND)
    _pay(w, p, "payment.withdrawal_settled", txn, amount, trace, psp=psp, psp_reference=f"po-{txn}",
         fee=p.money(0))  # fmt: skip
    return True


def _refund(w: _World, p: _Player) -> Flow:
    (txn, deposited), trace = p.deposits[-1], w.trace()
    amount = min(p.balance, deposited)
    if amount <= 0:
        return False
    _pay(w, p, "payment.deposit_refunded", txn, amount, trace, _MARCO, psp=_PSP[p.method],
         reason="deposit made by mistake; refunded on request", psp_reference=f"rf-{txn}",
         refunded_by=_MARCO[1])  # fmt: skip
    _wallet(w, p, "wallet.debited", amount, "refund", txn, trace)
    yield w.between(1000, 3000)
    return True


def _chargeback(w: _World, p: _Player) -> Flow:
    (txn, amount), trace = p.deposits[0], w.trace()
    _pay(w, p, "payment.chargeback_received", txn, amount, trace, chargeback_id=w.ref("cb"),
         psp=_PSP[p.method], reason_code="10.4")  # fmt: skip
    # The scheme takes the money back even if it was played: the wallet may go negative.
    _wallet(w, p, "wallet.debited", amount, "chargeback", txn, trace)
    yield w.between(1000, 5000)
    alert = _alert(w, p, "payments", ["PAY-CHARGEBACK"], 820, "card chargeback (fraud) on a played deposit")
    _decision(w, p, None, "block", 820, [f"chargeback on {txn}", f"alert {alert}"], rules=("PAY-CHARGEBACK",))
    p.done = True
    return True
