"""Turning raw table columns into clean typed values, whatever file format they came from.

CSV cells arrive as text, JSON Lines and Parquet cells arrive typed; both go through these
converters so that a model trained on one format scores the other the same way. Form defaults
such as `Select` and empty strings are missing values, not categories.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import polars as pl

PLACEHOLDERS = frozenset(
    {
        "",
        "select",
        "select one",
        "please select",
        "-",
        "--",
        "?",
        "n/a",
        "na",
        "nan",
        "null",
        "none",
        "(none)",
        "not set",
        "(not set)",
        "not provided",
        "undefined",
    }
)
TRUE_TOKENS = frozenset({"true", "yes", "y", "t", "1"})
FALSE_TOKENS = frozenset({"false", "no", "n", "f", "0"})
NUMBER_RE = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
DATETIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def is_numeric_dtype(dtype: pl.DataType) -> bool:
    """True for integer and float dtypes (not booleans)."""
    return dtype.is_numeric()


def is_temporal_dtype(dtype: pl.DataType) -> bool:
    """True for Date and Datetime dtypes."""
    return isinstance(dtype, pl.Date | pl.Datetime)


def clean_text(series: pl.Series) -> pl.Series:
    """Text with surrounding spaces removed and placeholders (`Select`, ``, `N/A`…) as null."""
    if series.dtype == pl.Null:
        return pl.Series(series.name, [None] * len(series), dtype=pl.String)
    if is_numeric_dtype(series.dtype):
        floats = series.cast(pl.Float64)
        integral = floats.is_not_null() & (floats.round(0) == floats) & (floats.abs() < 1e15)
        text = (
            pl.select(
                pl.when(integral)
                .then(floats.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(floats.cast(pl.String))
            )
            .to_series()
            .alias(series.name)
        )
    elif series.dtype == pl.Boolean or is_temporal_dtype(series.dtype):
        text = series.cast(pl.String)
    elif series.dtype == pl.String:
        text = series
    else:
        text = series.cast(pl.String, strict=False)
    text = text.str.strip_chars()
    placeholder = text.str.to_lowercase().is_in(list(PLACEHOLDERS))
    return pl.select(pl.when(placeholder).then(None).otherwise(text)).to_series().alias(series.name)


def to_number(series: pl.Series) -> np.ndarray:
    """Float values (NaN when missing or not a number); booleans count as 0/1."""
    if is_numeric_dtype(series.dtype):
        return series.cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64)
    if series.dtype == pl.Boolean:
        return series.cast(pl.Float64).to_numpy().astype(np.float64)
    text = clean_text(series)
    ok = text.str.contains(NUMBER_RE).fill_null(False)
    values = pl.select(pl.when(ok).then(text).otherwise(None).cast(pl.Float64, strict=False))
    return values.to_series().to_numpy().astype(np.float64)


def to_boolean(series: pl.Series) -> np.ndarray:
    """1.0 for true-like values (true/yes/y/t/1), 0.0 for false-like ones, NaN otherwise."""
    if series.dtype == pl.Boolean:
        return series.cast(pl.Float64).to_numpy().astype(np.float64)
    if is_numeric_dtype(series.dtype):
        values = series.cast(pl.Float64).to_numpy().astype(np.float64)
        return np.where(values == 1, 1.0, np.where(values == 0, 0.0, np.nan))
    low = clean_text(series).str.to_lowercase()
    is_true = low.is_in(list(TRUE_TOKENS)).fill_null(False).to_numpy()
    is_false = low.is_in(list(FALSE_TOKENS)).fill_null(False).to_numpy()
    return np.where(is_true, 1.0, np.where(is_false, 0.0, np.nan))


def category_keys(series: pl.Series) -> pl.Series:
    """Category keys: cleaned text, case-folded so `Google` and `google` are one category."""
    return clean_text(series).str.to_lowercase()


def _parse_one(text: str | None) -> float:
    if text is None or not DATETIME_RE.match(text):
        return np.nan
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return np.nan
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def to_epoch_seconds(series: pl.Series) -> np.ndarray:
    """Seconds since 1970 (UTC) for dates, datetimes and ISO 8601 strings; NaN otherwise."""
    if isinstance(series.dtype, pl.Datetime):
        values = series.dt.replace_time_zone(None) if series.dtype.time_zone else series
        return values.dt.epoch("ms").cast(pl.Float64).to_numpy().astype(np.float64) / 1000.0
    if isinstance(series.dtype, pl.Date):
        return series.cast(pl.Datetime("ms")).dt.epoch("ms").to_numpy().astype(np.float64) / 1e3
    text = clean_text(series)
    out = np.full(len(text), np.nan)
    valid = text.str.contains(DATETIME_RE.pattern).fill_null(False)
    zoned = valid & text.str.contains(r"(Z|[+-]\d{2}:?\d{2})$").fill_null(False)
    plain = (valid & ~zoned).to_numpy()
    if plain.any():
        iso = text.filter(pl.Series(plain)).str.replace(" ", "T").to_list()
        try:
            parsed = np.array(iso, dtype="datetime64[us]").astype(np.int64) / 1e6
            out[plain] = parsed
        except ValueError:  # an impossible date such as 2024-02-30: parse one by one
            out[plain] = [_parse_one(v) for v in iso]
    rest = zoned.to_numpy()
    if rest.any():
        out[rest] = [_parse_one(v) for v in text.filter(pl.Series(rest)).to_list()]
    return out


def looks_like_datetime(text: pl.Series) -> bool:
    """Most present values are ISO 8601 dates or datetimes."""
    present = text.drop_nulls()
    if present.len() == 0:
        return False
    sample = present.head(2000)
    hits = sample.str.contains(DATETIME_RE.pattern).sum()
    return hits >= 0.95 * sample.len()


def now_epoch() -> float:
    """The current time in epoch seconds (only the CLI layer calls this)."""
    return datetime.now(UTC).timestamp()


def epoch_to_iso(seconds: float) -> str:
    """Epoch seconds as an ISO 8601 UTC string."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def parse_as_of(text: str) -> float:
    """A user-given reference time (ISO 8601) as epoch seconds."""
    value = _parse_one(text.strip())
    if np.isnan(value):
        raise ValueError(f"not an ISO 8601 date or datetime: {text!r}")
    return float(value)
