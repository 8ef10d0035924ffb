"""Vectorised mirrors of core/values.py and core/timestamps.py over Polars Series.

Each function gives, element by element, what the per-value function of the core gives, so
that the kernel can match the reference scorer exactly. Where Polars (Rust) and Python differ,
the Python rule wins: trimming uses Python's whitespace set, case folding uses Rust's lower
case only for ASCII text (where the two agree) and Python's `str.lower` otherwise, timestamps
use the ISO grammar of core/timestamps.py with Python parsing the rare text that is not ASCII.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import polars as pl

from leadscore.core import values as v
from leadscore.core.timestamps import TimestampError, parse_instant, parse_timestamp

PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""Every character for which Python's `str.isspace()` holds: what `str.strip()` removes."""

NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
"""The §2.1 number grammar, ASCII digits only (as core/values.py compiles it)."""

ISO = (
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?$"
)
"""core/timestamps.py's grammar with ASCII digits; Python parses what this rejects."""

INSTANT = (
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?)?"
    r"([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
"""core/timestamps.py's lenient grammar of timestamp fields (`parse_instant`), ASCII digits."""

DAY_US = 86_400_000_000
STRINGLIKE = (pl.String, pl.Categorical, pl.Enum)

Dtype: TypeAlias = pl.DataType | type[pl.DataType]
"""A Polars data type, as an instance (`pl.Datetime("us")`) or a class (`pl.String`)."""
Indices: TypeAlias = npt.NDArray[np.integer[Any]]
"""Positions in another array: row numbers, or codes into a table of distinct values."""


def strip(s: pl.Series) -> pl.Series:
    """`str.strip()` of each value."""
    return s.str.strip_chars(PY_WHITESPACE)


def ascii_mask(s: pl.Series) -> pl.Series:
    """True where the text is pure ASCII (null stays null)."""
    return s.str.len_bytes() == s.str.len_chars()


def lower(s: pl.Series) -> pl.Series:
    """`str.lower()` of each value: Rust's lower case for ASCII text, Python's otherwise."""
    lowered = s.str.to_lowercase()
    other = (~ascii_mask(s)).fill_null(False)
    if not other.any():
        return lowered
    index = other.arg_true()
    return lowered.scatter(index, [text.lower() for text in s.gather(index).to_list()])


def fold(s: pl.Series, case_sensitive: bool) -> pl.Series:
    """`values.fold`: trimmed, lower-cased unless case sensitive."""
    stripped = strip(s)
    return stripped if case_sensitive else lower(stripped)


def numbers(stripped: pl.Series) -> np.ndarray:
    """`values.as_number` of trimmed text as float64, NaN where it is not a number."""
    parsed = (
        pl.select(
            pl.when(pl.lit(stripped).str.contains(NUMBER))
            .then(pl.lit(stripped).cast(pl.Float64, strict=False))
            .otherwise(None)
        )
        .to_series()
        .fill_null(np.nan)
    )
    return parsed.to_numpy().astype(np.float64, copy=False)


def booleans(folded_ci: pl.Series) -> np.ndarray:
    """`values.as_boolean` of case-folded text: 1 true, 0 false, -1 neither."""
    out = np.full(len(folded_ci), -1, dtype=np.int8)
    out[(folded_ci == "true").fill_null(False).to_numpy()] = 1
    out[(folded_ci == "false").fill_null(False).to_numpy()] = 0
    return out


# --- timestamps ------------------------------------------------------------------------


def _days_from_civil(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - (m <= 2).cast(pl.Int64)
    era = y // 400
    yoe = y - era * 400
    mp = pl.when(m > 2).then(m - 3).otherwise(m + 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _days_in_month(y: pl.Expr, m: pl.Expr) -> pl.Expr:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    long = m.is_in([1, 3, 5, 7, 8, 10, 12])
    return (
        pl.when(m == 2).then(pl.when(leap).then(29).otherwise(28)).when(long).then(31).otherwise(30)
    )


def parse_timestamps(
    s: pl.Series, *, python: bool = True, lenient: bool = False
) -> tuple[pl.Series, pl.Series]:
    """`timestamps.parse_timestamp` of each text (`parse_instant` when `lenient`, for a
    timestamp field such as an event's `occurred_at`): (epoch µs or null, rejected).

    `rejected` is true for a non-null text that is not a timestamp. Text the ASCII grammar
    rejects, and the years 1 and 9999 (where a UTC offset may leave Python's date range), are
    parsed by Python when `python` is true, and counted as rejected otherwise.
    """
    frame = pl.DataFrame({"s": strip(s)})
    g = pl.col("g")
    parts = frame.select(
        pl.col("s").is_not_null().alias("present"),
        pl.col("s").str.extract_groups(INSTANT if lenient else ISO).alias("g"),
    ).select(
        "present",
        g.struct.field("1").cast(pl.Int64).alias("y"),
        g.struct.field("2").cast(pl.Int64).alias("mo"),
        g.struct.field("3").cast(pl.Int64).alias("d"),
        g.struct.field("4").cast(pl.Int64).fill_null(0).alias("h"),
        g.struct.field("5").cast(pl.Int64).fill_null(0).alias("mi"),
        g.struct.field("6").cast(pl.Int64).fill_null(0).alias("sec"),
        g.struct.field("7")
        .str.slice(0, 6)
        .str.pad_end(6, "0")
        .cast(pl.Int64)
        .fill_null(0)
        .alias("us"),
        g.struct.field("8").alias("zone"),
    )
    y, mo, d = pl.col("y"), pl.col("mo"), pl.col("d")
    zone = pl.col("zone").str.replace(":", "", literal=True)  # ±HHMM, ±HH, Z or z
    off_h = zone.str.slice(1, 2).cast(pl.Int64, strict=False).fill_null(0)
    off_m = zone.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    ok = (
        y.is_between(2, 9998)
        & mo.is_between(1, 12)
        & (d >= 1)
        & (d <= _days_in_month(y, mo))
        & (pl.col("h") <= 23)
        & (pl.col("mi") <= 59)
        & (pl.col("sec") <= 59)
        & (off_h <= 23)
        & (off_m <= 59)
    ).fill_null(False)
    seconds = (pl.col("h") * 60 + pl.col("mi")) * 60 + pl.col("sec")
    micros = (
        _days_from_civil(y, mo, d) * DAY_US
        + seconds * 1_000_000
        + pl.col("us")
        - sign * (off_h * 60 + off_m) * 60_000_000
    )
    # Matched but out of range (month 13, hour 24, offset +24:00) is rejected outright; what
    # the ASCII grammar did not match, and the years at the edge of Python's range, go to
    # Python, which decides (and fails) exactly as the reference does.
    matched = y.is_not_null()
    edge = y.is_in([1, 9999]).fill_null(False)
    out = parts.select(
        pl.when(ok).then(micros).otherwise(None).alias("t"),
        (pl.col("present") & ((~matched) | edge)).alias("python"),
        (pl.col("present") & matched & ~ok & ~edge).alias("bad"),
    )
    moments, to_python, bad = out["t"], out["python"], out["bad"]
    if to_python.any():
        index = to_python.arg_true()
        if python:
            texts = s.gather(index).to_list()
            parse = parse_instant if lenient else parse_timestamp
            parsed = [_parse_or_none(parse, text) for text in texts]
            moments = moments.scatter(index, parsed)
            bad = bad.scatter(index, [p is None for p in parsed])
        else:
            bad = bad | to_python
    return moments, bad


def _parse_or_none(parse: Callable[[str], int], text: str) -> int | None:
    try:
        return parse(text)
    except TimestampError:
        return None


def temporal_micros(s: pl.Series) -> pl.Series:
    """Epoch µs of a Date or Datetime column, as core/timestamps.to_micros gives for the
    Python values (nanoseconds truncated toward zero, as pyarrow's unsafe cast does)."""
    if s.dtype == pl.Date:
        return s.cast(pl.Int32).cast(pl.Int64) * DAY_US
    assert isinstance(s.dtype, pl.Datetime)  # a Date returned above
    unit = s.dtype.time_unit
    raw = s.dt.epoch(unit) if unit == "us" else s.cast(pl.Datetime(unit)).to_physical()
    raw = raw.cast(pl.Int64)
    if unit == "us":
        return raw
    if unit == "ms":
        return raw * 1000
    return pl.select(
        pl.when(pl.lit(raw) < 0).then(-((-pl.lit(raw)) // 1000)).otherwise(pl.lit(raw) // 1000)
    ).to_series()


# --- text forms ------------------------------------------------------------------------


def map_unique(s: pl.Series, function: Callable[[Any], object], dtype: Dtype) -> pl.Series:
    """`function` of each value, computed once per distinct value (nulls stay null)."""
    distinct = s.drop_nulls().unique()
    if distinct.len() == 0:
        return pl.Series(s.name, [None] * len(s), dtype=dtype)
    mapped = pl.Series([function(x) for x in distinct.to_list()], dtype=dtype)
    return s.replace_strict(distinct, mapped, default=None, return_dtype=dtype)


def text_form(s: pl.Series) -> pl.Series:
    """`values.as_text` of each value of a native column (String, numbers, booleans, dates)."""
    dtype = s.dtype
    if dtype == pl.String:
        return s
    if isinstance(dtype, STRINGLIKE):
        return s.cast(pl.String)
    if dtype == pl.Boolean or dtype.is_integer():
        return s.cast(pl.String)
    if dtype == pl.Null:
        return s.cast(pl.String)
    return map_unique(s, v.as_text, pl.String)


def factorize(s: pl.Series) -> tuple[Indices, pl.Series]:
    """(codes, distinct values) of a text column: `values[codes]` is the column, and the code
    `len(values)` stands for null. Categoricals keep their physical codes."""
    if isinstance(s.dtype, pl.Enum):
        uniques = s.dtype.categories
        physical = s.to_physical().cast(pl.UInt32)
    else:
        if not isinstance(s.dtype, pl.Categorical):
            s = s.cast(pl.String).cast(pl.Categorical(pl.Categories.random()))
        physical = s.to_physical().cast(pl.UInt32)
        top = physical.max()
        # Polars types max() as any Python value; a UInt32 column's is an int.
        size = 0 if top is None else int(top) + 1  # type: ignore[arg-type]
        if size <= 65_536:
            assert isinstance(s.dtype, pl.Categorical)  # cast to one above
            uniques = s.dtype.categories.to_series()[:size]
        else:  # many categories: Categories.to_series() would walk them in Python
            present = s.unique().drop_nulls()
            codes = present.to_physical().cast(pl.Int64).to_numpy()
            uniques = pl.Series([""] * size, dtype=pl.String).scatter(
                codes, present.cast(pl.String)
            )
        uniques = uniques.fill_null("")
    codes = physical.fill_null(len(uniques)).to_numpy()
    return codes, uniques.alias(s.name).cast(pl.String)


def is_native(dtype: pl.DataType) -> bool:
    """Column types the kernel evaluates without calling Python per value."""
    return (
        dtype in (pl.String, pl.Boolean, pl.Date, pl.Null)
        or isinstance(dtype, STRINGLIKE)
        or dtype.is_numeric()
        and not dtype.is_decimal()
        or isinstance(dtype, pl.Datetime)
    )
