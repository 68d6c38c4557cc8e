"""The ASGI entry point server workers import: ``infra.serve:app`` (a factory: one app per worker)."""

from __future__ import annotations

import os

from litestar import Litestar

from infra.api_wiring import build_app
from infra.settings import Settings


def app() -> Litestar:
    """Build the app from ``LEDGER_*`` (the sandbox is prepared by ``ledger serve`` before workers start)."""
    return build_app(Settings.from_env(os.environ))
