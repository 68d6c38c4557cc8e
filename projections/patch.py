"""RFC 6902 JSON Patch: a small diff generator and applier for JSON documents.

``diff(old, new)`` emits only ``add``, ``remove`` and ``replace`` operations, with RFC 6901
pointers (``~`` escaped as ``~0``, ``/`` as ``~1``), in an order that is valid when applied
sequentially: object members in sorted key order, array tails removed from the end first.
``apply`` implements ``add``, ``remove``, ``replace`` and ``test``; applying ``diff(a, b)`` to
``a`` yields exactly ``b`` (checked by property tests). Values are compared strictly by JSON
type, so ``true`` never equals ``1``.
"""

from __future__ import annotations

import copy
from typing import Any

Op = dict[str, Any]


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def diff(old: Any, new: Any, path: str = "") -> list[Op]:
    """Return the JSON Patch that turns ``old`` into ``new`` (empty when they are equal)."""
    if _same(old, new):
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[Op] = []
        for key in sorted(old.keys() | new.keys()):
            at = f"{path}/{_escape(key)}"
            if key not in new:
                ops.append({"op": "remove", "path": at})
            elif key not in old:
                ops.append({"op": "add", "path": at, "value": copy.deepcopy(new[key])})
            else:
                ops.extend(diff(old[key], new[key], at))
        return ops
    if isinstance(old, list) and isinstance(new, list):
        return _diff_list(old, new, path)
    return [{"op": "replace", "path": path, "value": copy.deepcopy(new)}]


def _diff_list(old: list[Any], new: list[Any], path: str) -> list[Op]:
    common = min(len(old), len(new))
    ops: list[Op] = []
    for i in range(common):
        ops.extend(diff(old[i], new[i], f"{path}/{i}"))
    ops.extend(
        {"op": "add", "path": f"{path}/{i}", "value": copy.deepcopy(new[i])} for i in range(common, len(new))
    )
    ops.extend({"op": "remove", "path": f"{path}/{i}"} for i in reversed(range(common, len(old))))
    return ops


class PatchError(ValueError):
    """A patch does not apply to the document (bad pointer, failed test)."""


def _tokens(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        msg = f"JSON pointer must start with '/', got {path!r}"
        raise PatchError(msg)
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _index(container: list[Any], token: str, *, adding: bool) -> int:
    if token == "-" and adding:  # noqa: S105 - RFC 6901's end-of-array token
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):  # noqa: S105 - not a secret
        msg = f"bad array index {token!r}"
        raise PatchError(msg)
    i = int(token)
    if i > len(container) or (i == len(container) and not adding):
        msg = f"array index {i} out of range (length {len(container)})"
        raise PatchError(msg)
    return i


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for t in tokens:
        if isinstance(node, dict) and t in node:
            node = node[t]
        elif isinstance(node, list):
            node = node[_index(node, t, adding=False)]
        else:
            msg = f"path segment {t!r} not found"
            raise PatchError(msg)
    return node


def apply(doc: Any, patch: list[Op]) -> Any:
    """Return a copy of ``doc`` with ``patch`` applied operation by operation.

    Raises:
        PatchError: a pointer does not resolve, an op is unknown, or a ``test`` fails.
    """
    result = copy.deepcopy(doc)
    for op in patch:
        result = _apply_one(result, op)
    return result


def _apply_one(doc: Any, op: Op) -> Any:
    kind, tokens = op["op"], _tokens(op["path"])
    if kind == "test":
        if not _same(_parent(doc, tokens), op["value"]):
            msg = f"test failed at {op['path']!r}"
            raise PatchError(msg)
        return doc
    if not tokens:
        if kind in {"add", "replace"}:
            return copy.deepcopy(op["value"])
        msg = f"cannot {kind} the whole document"
        raise PatchError(msg)
    parent, last = _parent(doc, tokens[:-1]), tokens[-1]
    if isinstance(parent, dict):
        _apply_member(parent, kind, last, op)
    elif isinstance(parent, list):
        i = _index(parent, last, adding=kind == "add")
        if kind == "add":
            parent.insert(i, copy.deepcopy(op["value"]))
        elif kind == "remove":
            del parent[i]
        elif kind == "replace":
            parent[i] = copy.deepcopy(op["value"])
        else:
            msg = f"unsupported op {kind!r}"
            raise PatchError(msg)
    else:
        msg = f"cannot address into a scalar at {op['path']!r}"
        raise PatchError(msg)
    return doc


def _apply_member(parent: dict[str, Any], kind: str, key: str, op: Op) -> None:
    if kind in {"remove", "replace"} and key not in parent:
        msg = f"member {key!r} not found for {kind}"
        raise PatchError(msg)
    if kind == "remove":
        del parent[key]
    elif kind in {"add", "replace"}:
        parent[key] = copy.deepcopy(op["value"])
    else:
        msg = f"unsupported op {kind!r}"
        raise PatchError(msg)
