"""The exact building blocks of the kernel agree with the Python they mirror."""

from __future__ import annotations

import re
import sys
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.core import values as v
from leadscore.core.evaluate import count_windows as reference_windows
from leadscore.core.explain import round2 as reference_round2
from leadscore.core.timestamps import (
    TimestampError,
    coerce_timestamp,
    parse_instant,
    parse_timestamp,
)
from leadscore.engine import columns as c
from leadscore.engine import sums
from leadscore.engine.engagement import decayed
from leadscore.engine.regex import SAFE_TEXT, rust_pattern
from leadscore.engine.rounding import round2
from leadscore.engine.windows import count_windows

TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(c.PY_WHITESPACE) + list("AaZz09.+-eE:TZ Σσς İıKkſß")),
        st.characters(codec="utf-8"),
    ),
    max_size=12,
)


def test_the_whitespace_set_is_pythons() -> None:
    assert (
        "".join(ch for ch in map(chr, range(sys.maxunicode + 1)) if ch.isspace()) == c.PY_WHITESPACE
    )


@given(st.lists(TEXT, max_size=20))
def test_strip_lower_and_fold_are_pythons(texts: list[str]) -> None:
    s = pl.Series(texts, dtype=pl.String)
    assert c.strip(s).to_list() == [t.strip() for t in texts]
    assert c.lower(s).to_list() == [t.lower() for t in texts]
    assert c.fold(s, False).to_list() == [v.fold(t, False) for t in texts]


NUMBERISH = st.one_of(
    TEXT,
    st.from_regex(r"\A\s?[+-]?(\d{1,25}(\.\d{0,20})?|\.\d{1,20})([eE][+-]?\d{1,4})?\s?\Z"),
    st.floats(allow_nan=True).map(repr),
)


@given(st.lists(NUMBERISH, max_size=20))
def test_numbers_parse_as_python_does(texts: list[str]) -> None:
    got = c.numbers(c.strip(pl.Series(texts, dtype=pl.String)))
    for text, number in zip(texts, got, strict=True):
        want = v.as_number(text)
        assert (np.isnan(number) and want is None) or number == want, text


ISO = st.from_regex(
    r"\A\s?\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|[+-]\d{2}:\d{2})?\s?\Z"
)
DATES = st.one_of(
    ISO,
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["٢٠٢٥-١٢-٢٠", "0001-01-01T00:00+01:00", "2024-02-29", "2023-02-29", ""]),
    TEXT,
)


INSTANTS = st.one_of(
    DATES,
    st.from_regex(
        r"\A\s?\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}([.,]\d{1,10})?)?)?"
        r"([Zz]|[+-]\d{2}(:?\d{2})?)?\s?\Z"
    ),
)


def _python(text: str, lenient: bool = False):
    try:
        return parse_instant(text) if lenient else parse_timestamp(text)
    except TimestampError:
        return None
    except OverflowError:
        return "overflow"


def check_timestamps(texts: list[str], lenient: bool) -> None:
    expected = [_python(t, lenient) for t in texts]
    series = pl.Series(texts, dtype=pl.String)
    if "overflow" in expected:  # the reference raises here; so must the kernel
        with pytest.raises(OverflowError):
            c.parse_timestamps(series, lenient=lenient)
        return
    moments, bad = c.parse_timestamps(series, lenient=lenient)
    assert moments.to_list() == expected
    assert bad.to_list() == [e is None for e in expected]
    strict, strict_bad = c.parse_timestamps(series, python=False, lenient=lenient)
    for text, moment, rejected, want in zip(texts, strict, strict_bad, expected, strict=True):
        assert moment == want or (moment is None and rejected), text  # never a wrong time


@given(st.lists(DATES, max_size=20))
def test_timestamps_parse_as_python_does(texts: list[str]) -> None:
    check_timestamps(texts, lenient=False)


@given(st.lists(INSTANTS, max_size=20))
def test_timestamp_fields_parse_as_python_does(texts: list[str]) -> None:
    """Event files' `occurred_at` (the lenient grammar of fields) as `parse_instant` does."""
    check_timestamps(texts, lenient=True)


@given(st.lists(st.one_of(st.floats(), st.integers(-10**6, 10**6).map(lambda n: n / 1000)),
                max_size=50))  # fmt: skip
def test_round2_is_pythons_round(values: list[float]) -> None:
    got = round2(np.array(values, dtype=np.float64))
    for value, rounded in zip(values, got, strict=True):
        want = reference_round2(value)
        assert rounded == want or (np.isnan(rounded) and np.isnan(want)), value
        assert not (rounded == 0 and np.signbit(rounded))


def test_round2_decides_ties_and_near_ties_on_the_exact_value() -> None:
    values = [k / 1000 + d for k in range(-3000, 3000) for d in (0.0, 1e-15, -1e-15)]
    values += [2.675, 1.005, 0.125, 0.375, -0.125, 1e13, 9.999999999999e12, 4.35, -4.35]
    got = round2(np.array(values))
    assert got.tolist() == [reference_round2(x) for x in values]


@given(
    st.lists(st.lists(st.floats(-1e6, 1e6), max_size=40), max_size=30),
    st.integers(0, 2),
)
def test_group_sums_are_pythons_sum(groups: list[list[float]], scale: int) -> None:
    values = np.array([x * 10.0**scale for g in groups for x in g], dtype=np.float64)
    ids = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    got = sums.group_sums(values, ids, len(groups))
    offsets = np.cumsum([0] + [len(g) for g in groups])
    for i in range(len(groups)):
        assert got[i] == sum(values[offsets[i] : offsets[i + 1]].tolist())


def test_long_groups_and_prefix_sums() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(0, 1e3, 5000)
    ids = np.repeat([0, 1, 2], [3000, 1500, 500])
    got = sums.group_sums(values, ids, 3)
    assert got.tolist() == [
        sum(values[:3000].tolist()), sum(values[3000:4500].tolist()), sum(values[4500:].tolist())
    ]  # fmt: skip
    for points in (33.3, 0.1, -2.5, 1 / 3):
        table = sums.prefix_sums(points, 300)
        assert [table[n] for n in range(301)] == [sum([points] * n) for n in range(301)]


@given(
    st.lists(st.lists(st.integers(0, 60), max_size=25).map(sorted), max_size=12),
    st.integers(1, 5),
    st.integers(0, 20),
    st.booleans(),
)
def test_count_windows_are_the_references(groups, at_least, within, first_only) -> None:
    times = np.array([t for g in groups for t in g], dtype=np.int64)
    ids = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    got = count_windows(ids, times, at_least, within, first_only)
    want = []
    for i, g in enumerate(groups):
        awards = reference_windows(g, at_least, within)
        want += [(i, t) for t in (awards[:1] if first_only else awards)]
    assert [(int(ids[j]), int(times[j])) for j in got] == want


@given(st.lists(st.integers(0, 2**53 + 10**6), max_size=30), st.sampled_from([3600, 86400 * 30]))
def test_decay_is_pythons_power(ages: list[int], half_life_s: int) -> None:
    half_life = half_life_s * 1_000_000
    got = decayed(33.3, np.array(ages, dtype=np.int64), half_life)
    assert got.tolist() == [33.3 * 0.5 ** (age / half_life) for age in ages]


def test_text_forms_are_as_text() -> None:
    floats = pl.Series([0.1, 1e20, -0.0, 250.0, float("inf"), None, 1e-7])
    assert c.text_form(floats).to_list() == [
        None if x is None else v.as_text(x) for x in floats.to_list()
    ]
    ints = pl.Series([5, -3, 2**62, None])
    assert c.text_form(ints).to_list() == ["5", "-3", str(2**62), None]
    stamps = pl.Series(["2026-01-02T03:04:05.000006", "0099-01-01T00:00:00"]).str.to_datetime()
    assert c.text_form(stamps).to_list() == [d.isoformat() for d in stamps.to_list()]
    assert c.text_form(stamps.dt.replace_time_zone("UTC")).to_list()[0].endswith("+00:00")


# --- regular expressions --------------------------------------------------------------

SAFE_PATTERNS = [
    r"\b(ceo|cto|vp|head)\b", "student|intern", "^eng", r"^\s*\d+$", r"[a-z]{3,}", r"\Afin",
    r"(?-i:CEO)", r"[^\W\d]", r"s\b", r"(?s)intern.", r"(?m)^x$", r"a.?b+c*", r"\.\-\$",
    r"(?P<w>\w+)@", r"[]a]", r"[\]\\-]", r"x{2}y{1,3}z{0,}", r"colou?r", "",
]  # fmt: skip
UNSAFE_PATTERNS = [
    r"a(?=b)", r"(\w)\1", r"x{,2}", r"\<b", r"(?x) a b", r"a*+", r"(?>a)", r"é", r"\u00e9",
    r"\Z", r"(?#c)a", r"[[:alpha:]]", r"[a&&b]", r"[+--]", r"\x41", r"(?a)\w", r"a{2",
]  # fmt: skip


@pytest.mark.parametrize("pattern", SAFE_PATTERNS)
def test_patterns_in_the_common_core_run_in_polars(pattern: str) -> None:
    assert rust_pattern(pattern, case_sensitive=False) is not None


@pytest.mark.parametrize("pattern", UNSAFE_PATTERNS)
def test_other_patterns_are_left_to_python(pattern: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # nested sets warn in Python 3.11+
        re.compile(pattern)
    assert rust_pattern(pattern, case_sensitive=False) is None


ASCII = st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=126), max_size=16)


@settings(max_examples=300)
@given(st.sampled_from(SAFE_PATTERNS), st.booleans(), st.lists(ASCII, max_size=10))
def test_accepted_patterns_agree_with_python_on_plain_text(pattern, case_sensitive, texts):
    compiled = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
    rust = rust_pattern(pattern, case_sensitive)
    s = pl.Series(texts, dtype=pl.String)
    safe = s.str.contains(SAFE_TEXT).to_list()
    found = s.str.contains(rust).to_list()
    for text, ok, hit in zip(texts, safe, found, strict=True):
        if ok:
            assert hit == (compiled.search(text) is not None), (pattern, text)


def test_coerce_timestamp_matches_on_native_dates() -> None:
    dates = pl.Series(["2026-01-01", "1969-12-31"]).str.to_date()
    assert c.temporal_micros(dates).to_list() == [coerce_timestamp(d) for d in dates.to_list()]
    nanos = pl.Series([-1_500, 1_500, -1_000_000_001], dtype=pl.Int64).cast(pl.Datetime("ns"))
    assert c.temporal_micros(nanos).to_list() == [-1, 1, -1_000_000]  # truncated toward zero
