"""The ASGI entry point server workers import: ``infra.wiring.asgi:app`` (a factory: one app per worker)."""

from __future__ import annotations

from litestar import Litestar

from infra.settings import from_process_env
from infra.wiring.api import build_app


def app() -> Litestar:
    """Build the app from ``LEDGER_*`` (the sandbox is prepared by ``ledger serve`` before workers start)."""
    return build_app(from_process_env())
