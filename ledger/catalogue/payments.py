"""Payments and the cashier: deposits, withdrawals, chargebacks, and wallet movements.

A wallet event states the balance before and after the movement; the payload is rejected
unless ``balance_after`` is exactly ``balance_before`` minus (debit) or plus (credit)
``amount``, all in one currency, so a wallet stream is a checkable balance chain.
"""

from __future__ import annotations

from typing import Literal

from ledger.catalogue.registry import Payload, event
from ledger.catalogue.types import Code, Money, Personal, Ref, Text

Method = Literal["card", "bank_transfer", "e_wallet", "crypto", "voucher"]
WalletReason = Literal[
    "deposit", "withdrawal", "bet", "win", "bonus", "refund", "chargeback", "adjustment", "jackpot"
]


@event("payment.deposit_authorized", entities=("Payment",), subject="player_ref")
class DepositAuthorized(Payload, frozen=True, kw_only=True):
    """A payment provider authorised a player's deposit (card holder and IBAN sealed)."""

    txn_id: Ref
    player_ref: Ref
    amount: Money
    psp: Code
    method: Method
    psp_reference: Ref | None = None
    card_holder_name: Personal | None = None
    iban: Personal | None = None


@event("payment.deposit_captured", entities=("Payment",))
class DepositCaptured(Payload, frozen=True, kw_only=True):
    """The authorised deposit was captured by the payment provider."""

    txn_id: Ref
    player_ref: Ref
    amount: Money
    psp: Code
    psp_reference: Ref | None = None


@event("payment.deposit_settled", entities=("Payment",))
class DepositSettled(Payload, frozen=True, kw_only=True):
    """The payment provider settled the deposit to the operator's account."""

    txn_id: Ref
    player_ref: Ref
    amount: Money
    psp: Code
    psp_reference: Ref | None = None
    fee: Money | None = None
    settlement_batch: Ref | None = None


@event("payment.deposit_refunded", entities=("Payment",))
class DepositRefunded(Payload, frozen=True, kw_only=True):
    """A settled deposit was refunded to the player's payment method."""

    txn_id: Ref
    player_ref: Ref
    amount: Money
    psp: Code
    reason: Text
    psp_reference: Ref | None = None
    refunded_by: Ref | None = None


@event("payment.deposit_cancelled", entities=("Payment",))
class DepositCancelled(Payload, frozen=True, kw_only=True):
    """A deposit was cancelled before capture and moved no money."""

    txn_id: Ref
    player_ref: Ref
    amount: Money
    psp: Code
    reason: Literal["declined", "abandoned", "timeout", "risk_rejected", "limit_exceeded", "operator"]
    detail: Text | None = None


@event("payment.chargeback_received", entities=("Payment",))
class ChargebackReceived(Payload, frozen=True, kw_only=True):
    """The card scheme reversed a settled deposit (a chargeback)."""

    txn_id: Ref
    chargeback_id: Ref
    player_ref: Ref
    amount: Money
    psp: Code
    reason_code: Code
    psp_reference: Ref | None = None


@event("payment.withdrawal_requested", entities=("Payment",), subject="player_ref")
class WithdrawalRequested(Payload, frozen=True, kw_only=True):
    """A player asked to withdraw funds (destination IBAN or address sealed)."""

    txn_id: Ref
    player_ref: Ref
    amount: Money
    method: Method
    psp: Code
    iban: Personal | None = None
    crypto_address: Personal | None = None


@event("payment.withdrawal_authorized", entities=("Payment",))
class WithdrawalAuthorized(Payload, frozen=True, kw_only=True):
    """A withdrawal passed its checks and was released for payout."""

    txn_id: Ref
    player_ref: Ref
    amount: Money
    psp: Code
    approval: Literal["automatic", "manual"]
    approved_by: Ref | None = None


@event("payment.withdrawal_settled", entities=("Payment",))
class WithdrawalSettled(Payload, frozen=True, kw_only=True):
    """The payment provider paid the withdrawal out to the player."""

    txn_id: Ref
    player_ref: Ref
    amount: Money
    psp: Code
    psp_reference: Ref | None = None
    fee: Money | None = None


@event("payment.withdrawal_cancelled", entities=("Payment",))
class WithdrawalCancelled(Payload, frozen=True, kw_only=True):
    """A withdrawal was cancelled and its funds returned to the wallet."""

    txn_id: Ref
    player_ref: Ref
    amount: Money
    reason: Literal["player", "kyc_pending", "aml_hold", "rg_exclusion", "payout_failed", "operator"]
    cancelled_by: Ref | None = None
    detail: Text | None = None


class _WalletMovement(Payload, frozen=True, kw_only=True):
    """Fields and the balance-chain invariant shared by wallet debits and credits."""

    player_ref: Ref
    wallet_id: Ref | None = None
    amount: Money
    balance_before: Money
    balance_after: Money
    reason: WalletReason
    reference: Ref

    def _check(self, sign: int) -> None:
        if self.amount.amount <= 0:
            msg = f"a wallet movement moves a positive amount, got {self.amount.amount}"
            raise ValueError(msg)
        currencies = {self.amount.currency, self.balance_before.currency, self.balance_after.currency}
        if len(currencies) != 1:
            msg = f"amount and balances must share one currency, got {sorted(currencies)}"
            raise ValueError(msg)
        expected = self.balance_before.amount + sign * self.amount.amount
        if self.balance_after.amount != expected:
            msg = f"balance_after must be {expected}, got {self.balance_after.amount}"
            raise ValueError(msg)


@event("wallet.debited", entities=("Wallet",))
class WalletDebited(_WalletMovement, frozen=True, kw_only=True):
    """Money left a player's wallet; balance_after = balance_before - amount."""

    def __post_init__(self) -> None:
        """Reject a debit whose balances do not add up."""
        self._check(-1)


@event("wallet.credited", entities=("Wallet",))
class WalletCredited(_WalletMovement, frozen=True, kw_only=True):
    """Money entered a player's wallet; balance_after = balance_before + amount."""

    def __post_init__(self) -> None:
        """Reject a credit whose balances do not add up."""
        self._check(1)
