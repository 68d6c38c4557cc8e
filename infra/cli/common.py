"""Helpers shared by the ``ledger`` sub-command modules: output, progress, the ledger, exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
from tqdm import tqdm

from infra.settings import Settings
from infra.wiring.bootstrap import build_ledger, open_backend
from ledger.application import Ledger

EXIT_VERIFY, EXIT_INPUT, EXIT_STORAGE = 1, 2, 3


def out(value: Any) -> None:
    """Write ``value`` as one JSON line on stdout."""
    sys.stdout.buffer.write(msgspec.json.encode(value) + b"\n")
    sys.stdout.flush()


def progress(total: int | None, desc: str) -> tqdm[Any]:
    """A progress bar on stderr, shown only on a terminal."""
    return tqdm(
        total=total,
        desc=desc,
        unit="ev",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        dynamic_ncols=True,
    )


@contextmanager
def open_ledger(settings: Settings) -> Iterator[Ledger]:
    """The configured ledger, closed on exit."""
    ledger = build_ledger(settings, open_backend(settings))
    try:
        yield ledger
    finally:
        ledger.close()


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        msg = "must be at least 1"
        raise argparse.ArgumentTypeError(msg)
    return value
