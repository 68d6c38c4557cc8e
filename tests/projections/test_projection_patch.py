"""RFC 6902 diff: applying diff(a, b) to a yields exactly b, for any JSON documents."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.patch import PatchError, apply, diff

keys = st.text(alphabet="ab/~0-", max_size=3)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(alphabet="xy", max_size=2),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


def _strict(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strict(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_strict(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=400, deadline=None)
@given(json_values, json_values)
def test_applying_the_diff_yields_the_new_document(old: Any, new: Any) -> None:
    patch = diff(old, new)
    assert _strict(apply(old, patch), new)
    assert (patch == []) == _strict(old, new)


@given(json_values)
def test_the_diff_of_equal_documents_is_empty(doc: Any) -> None:
    assert diff(doc, doc) == []


def test_pointer_escaping_and_strict_types() -> None:
    assert diff({"a/b": 1, "m~n": True}, {"a/b": 2, "m~n": 1}) == [
        {"op": "replace", "path": "/a~1b", "value": 2},
        {"op": "replace", "path": "/m~0n", "value": 1},
    ]
    assert diff([1, 2, 3], [1]) == [{"op": "remove", "path": "/2"}, {"op": "remove", "path": "/1"}]


def test_rfc6902_appendix_examples() -> None:
    assert apply({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}]) == {
        "foo": "bar",
        "baz": "qux",
    }
    assert apply({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}]) == {
        "foo": ["bar", "qux", "baz"]
    }
    assert apply({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": "x"}]) == {"foo": ["bar", "x"]}
    with pytest.raises(PatchError):
        apply({"foo": "bar"}, [{"op": "test", "path": "/foo", "value": "baz"}])
    with pytest.raises(PatchError):
        apply({"foo": "bar"}, [{"op": "remove", "path": "/nope"}])
