"""``ledger`` sub-commands for evidence bundles."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the ``ledger`` parser."""
