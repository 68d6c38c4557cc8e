"""Exact money arithmetic on the wire form ``{"amount": "10.50", "currency": "EUR"}``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def amount(money: dict[str, Any] | None) -> Decimal:
    """The exact amount (0 for ``None``)."""
    return Decimal(money["amount"]) if money else Decimal(0)


def add(total: str | None, value: Decimal | str) -> str:
    """``total + value`` as an exact decimal string (``None`` counts as 0)."""
    return str(Decimal(total or 0) + Decimal(value))
