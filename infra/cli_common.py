"""Helpers shared by the ``ledger`` sub-command modules (output, progress, wiring)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec
from tqdm import tqdm

from infra.bootstrap import build_ledger
from infra.settings import Settings
from ledger.application import Ledger
from ledger.errors import StorageError

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


def chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """Split ``items`` into lists of at most ``size``."""
    while chunk := list(islice(items, size)):
        yield chunk


@contextmanager
def open_ledger(settings: Settings) -> Iterator[Ledger]:
    """The configured ledger, closed on exit."""
    ledger = build_ledger(settings)
    try:
        yield ledger
    finally:
        ledger.close()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, so a bundle or report is never half-written.

    Raises:
        StorageError: the file cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as e:
        msg = f"cannot write {path}: {e.strerror}"
        raise StorageError(msg) from None


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        msg = "must be at least 1"
        raise argparse.ArgumentTypeError(msg)
    return value
