"""The fast JSON writer gives exactly the bytes of `json.dumps(value, indent=2)`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinctl.output.jsontext import dumps

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(VALUES)
def test_the_bytes_equal_the_standard_librarys(value: Any) -> None:
    """Any JSON value, control characters and non-ASCII text included, encodes identically."""
    assert dumps(value) == json.dumps(value, indent=2)


@given(st.dictionaries(st.text(), VALUES, max_size=3))
def test_a_nested_value_is_indented_as_inside_its_document(value: dict[str, Any]) -> None:
    """At level 2 the text is what the whole document holds at that depth."""
    whole = json.dumps({"hosts": [value]}, indent=2)
    assert dumps(value, level=2) in whole


def test_what_json_cannot_hold_is_refused() -> None:
    """Failing twin: a non-JSON value is a TypeError as in json; so is a non-string key,
    which json would quietly turn into a string (pinctl's documents have none)."""
    with pytest.raises(TypeError):
        dumps({"a": object()})
    with pytest.raises(TypeError):
        dumps({1: "a"})
