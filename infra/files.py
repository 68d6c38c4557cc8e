"""Small durable-file helpers shared by the file-backed adapters and the CLI."""

from __future__ import annotations

import os
from pathlib import Path

from ledger.errors import StorageError


def fsync_dir(directory: Path) -> None:
    """Flush ``directory``'s entries, so a file created or renamed in it survives a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
