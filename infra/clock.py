"""The machine's clock (the ``ledger.ports.Clock`` port)."""

from __future__ import annotations

import time


class SystemClock:
    """The machine's UTC clock."""

    def now_ms(self) -> int:
        """Return milliseconds since the epoch."""
        return time.time_ns() // 1_000_000
