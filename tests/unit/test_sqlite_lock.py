"""The SQLite writer lock: one holder at a time across descriptors (as across processes)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from infra.sqlite.lock import WriterLock


def test_a_second_writer_waits_until_the_first_releases(tmp_path: Path) -> None:
    first, second = WriterLock(tmp_path / "db.sqlite3"), WriterLock(tmp_path / "db.sqlite3")
    order: list[str] = []

    def write() -> None:
        with second.hold():
            order.append("second holds")

    waiter = threading.Thread(target=write)
    with first.hold():
        waiter.start()
        time.sleep(0.3)  # time for the second writer to get past the lock, if it could
        order.append("first releases")
    waiter.join(timeout=10)
    assert order == ["first releases", "second holds"]
    first.close()
    second.close()


def test_threads_sharing_one_lock_take_turns(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "db.sqlite3")
    inside, most = [0], [0]

    def write() -> None:
        for _ in range(50):
            with lock.hold():
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                time.sleep(0.0005)
                inside[0] -= 1

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert most[0] == 1
    lock.close()


def test_an_in_memory_database_needs_no_lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lock = WriterLock(":memory:")
    with lock.hold():
        pass
    lock.close()
    assert list(tmp_path.iterdir()) == []
