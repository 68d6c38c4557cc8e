"""One writer at a time on a SQLite file, across threads and processes, queued by the kernel.

SQLite answers a ``BEGIN IMMEDIATE`` that finds the file locked by sleeping in its busy
handler, with pauses growing to 100 ms, and retrying. With several processes writing one
file (server workers, the projection runner, the sealer) a writer then waits many times
longer than the other's commit takes. Every SQLite writer of this project first takes an
exclusive ``flock`` on a sidecar file (``<db>-writer.lock``): the next writer wakes as
soon as the lock is released, and ``BEGIN IMMEDIATE`` finds the file free.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _on_disk(path: str) -> bool:
    return path != ":memory:" and "mode=memory" not in path and not path.startswith("file:")


class WriterLock:
    """An exclusive lock shared by every writer of one SQLite database file."""

    def __init__(self, db_path: str | Path) -> None:
        path = str(db_path)
        self._fd = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600) if _on_disk(path) else None
        # flock belongs to the open file: threads sharing this descriptor queue on a thread lock.
        self._threads = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the lock for one write transaction."""
        with self._threads:
            if self._fd is None:
                yield
                return
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the descriptor."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
