"""The rules of every input value (service/input_rules.py) and of cursors (service/cursors.py)
hold for all inputs: properties checked with hypothesis."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadscore.service.cursors import PK_MAX, decode_cursor, encode_cursor
from leadscore.service.errors import Invalid
from leadscore.service.input_rules import INT64, text_error, value_problems

TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=8)
NUMBERS = st.one_of(st.integers(), st.floats(), st.booleans(), st.none())
JSONISH = st.recursive(
    st.one_of(TEXT, NUMBERS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def breaches(value: object) -> int:
    """How many strings (keys included) and numbers break the rules: a reference written
    the obvious, recursive way."""
    if isinstance(value, str):
        return int(text_error(value) is not None)
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int | float):
        return int(not INT64[0] <= value < 2**63)
    if isinstance(value, dict):
        return sum(breaches(k) + breaches(v) for k, v in value.items())
    return sum(breaches(v) for v in value)


@given(JSONISH)
def test_every_breach_is_found_and_nothing_else(value: object) -> None:
    problems = value_problems(value, ("body",))
    assert len(problems) == breaches(value)
    assert all(p.loc[0] == "body" for p in problems)


@given(TEXT, TEXT)
def test_text_with_nul_or_a_lone_surrogate_breaks_the_rule(before: str, after: str) -> None:
    for bad in ("\x00", "\ud800", "\udfff"):
        assert text_error(before + bad + after) is not None
    clean = (before + after).replace("\x00", "")
    clean = "".join(c for c in clean if not 0xD800 <= ord(c) <= 0xDFFF)
    assert text_error(clean) is None


def test_a_breach_is_named_where_it_is() -> None:
    value = {"a": [1, {"b\x00": "ok", "c": "x\x00"}], "d": 1e400, "e": 2**64}
    assert [p.loc for p in value_problems(value, ("body",))] == [
        ("body", "a", 1, "b\x00"),
        ("body", "a", 1, "c"),
        ("body", "d"),
        ("body", "e"),
    ]


CURSOR_VALUES = st.one_of(
    st.integers(INT64[0], INT64[1]).map(lambda n: ("micros", n)),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: ("number", x)),
)


@given(CURSOR_VALUES, st.integers(1, PK_MAX))
def test_a_cursor_decodes_to_what_was_encoded(kind_value, pk: int) -> None:
    kind, value = kind_value
    assert decode_cursor(encode_cursor("list", value, pk), "list", kind) == (value, pk)


@given(
    st.one_of(
        st.text(max_size=30),
        JSONISH.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()),
        st.tuples(st.just("list"), JSONISH, JSONISH).map(
            lambda t: base64.urlsafe_b64encode(json.dumps(list(t)).encode()).decode()
        ),
    ),
    st.sampled_from(["number", "micros"]),
)
def test_any_text_is_a_valid_cursor_or_invalid_naming_cursor(text: str, kind) -> None:
    try:
        value, pk = decode_cursor(text, "list", kind)
    except Invalid as exc:
        assert [p.loc for p in exc.problems] == [("query", "cursor")]
        return
    assert 1 <= pk <= PK_MAX and not isinstance(pk, bool)
    if kind == "micros":
        assert isinstance(value, int) and INT64[0] <= value <= INT64[1]
    else:
        assert isinstance(value, float) and abs(value) < float("inf")


@pytest.mark.parametrize("cursor", ["", "=", "====", "\x00", "🙂"])
def test_odd_cursors_are_invalid(cursor: str) -> None:
    with pytest.raises(Invalid):
        decode_cursor(cursor, "list", "number")
