"""Every adapter turns real driver failures into one-line ``StorageError``s, never a raw driver error.

The table: each store of each backend (events, tree, views, keys, results), each operation,
after each way the database can fail under it (closed, its tables or schema dropped, a file
that is no database, a server that does not answer).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from infra.backend import Backend
from infra.postgres import PostgresBackend
from infra.sqlite import SqliteBackend
from ledger.encoding import canonical
from ledger.errors import StorageError
from projections.ports import TableWrites

UNREACHABLE = "host=127.0.0.1 port=1 dbname=test connect_timeout=1"
LEAF = bytes(32)


def _views(b: Backend) -> Any:
    views = b.views()
    views.ensure(["t"])
    return views


OPEN: dict[str, Callable[[Backend], Any]] = {
    "events": lambda b: b.events(),
    "tree": lambda b: b.tree(),
    "views": _views,
    "keys": lambda b: b.keys(),
    "results": lambda b: b.results(),
}

Op = Callable[[Any], object]
OPS: list[tuple[str, str, Op]] = [
    ("events", "read", lambda s: s.read(0, 10)),
    ("events", "read_columns", lambda s: s.read_columns(0, 10)),
    ("events", "size", lambda s: s.size()),
    ("events", "heads", lambda s: list(s.heads())),
    ("events", "get", lambda s: s.get("00000000-0000-4000-8000-000000000001")),
    ("events", "append", lambda s: s.append([])),
    ("tree", "tree_size", lambda s: s.tree_size()),
    ("tree", "extend", lambda s: s.extend(0, [LEAF])),
    ("tree", "nodes", lambda s: s.nodes([(0, 0)])),
    ("tree", "add_checkpoint", lambda s: s.add_checkpoint(1, b"note")),
    ("tree", "checkpoints", lambda s: s.checkpoints()),
    ("views", "tracking", lambda s: s.tracking()),
    ("views", "get", lambda s: s.get("t", "k")),
    ("views", "scan", lambda s: s.scan("t", "")),
    ("views", "digest", lambda s: s.digest("t")),
    ("views", "commit", lambda s: s.commit({"t": TableWrites(1, {"k": canonical({"k": 1})})}, [])),
    ("views", "reset", lambda s: s.reset("p", 1, ["t"])),
    ("keys", "load", lambda s: s.load(["plr-1"])),
    ("keys", "insert", lambda s: s.insert([("plr-1", "dk-1", b"wrapped")])),
    ("keys", "destroy", lambda s: s.destroy("plr-1", 1)),
    ("results", "last", lambda s: s.last()),
    ("results", "save", lambda s: s.save({"ok": True, "finished_at": "2026-12-02T06:00:00.000Z"})),
]


def _drop_everything(backend: Backend) -> None:
    """Drop, behind the store's back, every table it keeps (SQLite) or its whole schema (PostgreSQL)."""
    if isinstance(backend, PostgresBackend):
        with psycopg.connect(backend.dsn, autocommit=True) as c:
            c.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(backend.schema)))
        return
    assert isinstance(backend, SqliteBackend)
    for path in (backend.path, backend.keys_path):
        with sqlite3.connect(path) as c:
            for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                c.execute(f'DROP TABLE "{name}"')


def _broken(backend: Backend, tmp_path: Path) -> Backend:
    """The same kind of backend where no database can be opened."""
    if isinstance(backend, PostgresBackend):
        return PostgresBackend(UNREACHABLE, backend.schema)
    directory = tmp_path / "a-directory"
    directory.mkdir()
    return SqliteBackend(str(directory), str(directory))


def _not_a_database(tmp_path: Path) -> SqliteBackend:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not an SQLite database\n" * 256)
    return SqliteBackend(str(junk), str(junk))


def _assert_translated(info: pytest.ExceptionInfo[StorageError]) -> None:
    message = str(info.value)
    assert message
    assert "\n" not in message, f"StorageError message spans lines: {message!r}"


def _raises_storage_error(call: Callable[[], object]) -> None:
    """``call`` fails with a one-line StorageError (a raw driver error fails the test as itself)."""
    with pytest.raises(StorageError) as info:
        call()
    _assert_translated(info)


@pytest.mark.parametrize(("store", "op_name", "op"), OPS, ids=[f"{s}-{n}" for s, n, _ in OPS])
def test_an_operation_on_a_closed_store(backend: Backend, store: str, op_name: str, op: Op) -> None:
    opened = OPEN[store](backend)
    opened.close()
    _raises_storage_error(lambda: op(opened))


@pytest.mark.parametrize(("store", "op_name", "op"), OPS, ids=[f"{s}-{n}" for s, n, _ in OPS])
def test_an_operation_after_the_tables_were_dropped(
    backend: Backend, store: str, op_name: str, op: Op
) -> None:
    opened = OPEN[store](backend)
    try:
        _drop_everything(backend)
        _raises_storage_error(lambda: op(opened))
    finally:
        opened.close()


@pytest.mark.parametrize("store", list(OPEN))
def test_opening_where_no_database_can_be_opened(backend: Backend, tmp_path: Path, store: str) -> None:
    _raises_storage_error(lambda: OPEN[store](_broken(backend, tmp_path)))


@pytest.mark.parametrize("store", list(OPEN))
def test_opening_a_file_that_is_no_sqlite_database(tmp_path: Path, store: str) -> None:
    _raises_storage_error(lambda: OPEN[store](_not_a_database(tmp_path)))
