"""From a raw table to a numeric design matrix, with no hand preparation.

`fit_spec` looks at each column once (type, placeholders, sentinels, id-like or constant
columns, frequent categories) and records its decisions in a `FeatureSpec`: plain data,
stored as JSON beside the model, so scoring applies exactly the same preparation and no code
is ever unpickled. Categories become integer codes (frequent values, the rest as "other")
that gradient boosting uses natively and logistic regression one-hot encodes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

from leadscore.ml import columns as col
from leadscore.ml.errors import MLInputError

MAX_CATEGORIES = 50
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
SECONDS_PER_DAY = 86400.0


@dataclass
class DesignColumn:
    """One column of the design matrix: which raw feature it comes from and how it is coded."""

    name: str
    source: str
    kind: str  # "num" (float, NaN = missing), "flag" (0/1), "cat" (integer code, NaN = missing)
    part: str = "value"  # value | sentinel | days_ago | month | weekday | hour


@dataclass
class Feature:
    """How one raw column is read and coded."""

    name: str
    kind: str  # numeric | boolean | categorical | datetime
    required: bool
    note: str = ""
    sentinel: float | None = None
    quantiles: list[float] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    has_other: bool = False
    parts: list[str] = field(default_factory=list)


@dataclass
class FeatureSpec:
    """Every preparation decision, as data: enough to rebuild the design matrix anywhere."""

    features: list[Feature]
    dropped: list[dict[str, str]]
    design: list[DesignColumn]
    time_column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(
            features=[Feature(**f) for f in data["features"]],
            dropped=[dict(d) for d in data["dropped"]],
            design=[DesignColumn(**d) for d in data["design"]],
            time_column=data.get("time_column"),
        )

    @property
    def cat_mask(self) -> np.ndarray:
        return np.array([d.kind == "cat" for d in self.design], dtype=bool)

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)

    def blocks(self) -> dict[str, list[int]]:
        """Design column indices owned by each raw feature, in feature order."""
        out: dict[str, list[int]] = {f.name: [] for f in self.features}
        for j, d in enumerate(self.design):
            out[d.source].append(j)
        return out

    def required_columns(self) -> list[str]:
        return [f.name for f in self.features if f.required]


def _present_quantiles(values: np.ndarray) -> list[float]:
    present = values[~np.isnan(values)]
    if present.size == 0:
        return []
    return [float(q) for q in np.quantile(present, QUANTILES)]


def detect_sentinel(values: np.ndarray) -> float | None:
    """A frequent extreme value far outside the rest (e.g. 999 = "never" in `pdays`).

    The lowest or highest value is a sentinel when it holds at least 1% of the present values
    (and 5 rows), the other values look like a measurement (at least 10 distinct values), and
    its distance to the nearest other value exceeds the whole range of the other values.
    (Columns with a handful of levels, such as quarterly rates, are never split this way.)
    """
    present = values[~np.isnan(values)]
    if present.size < 50:
        return None
    for candidate in (present.max(), present.min()):
        hits = present == candidate
        rest = present[~hits]
        if hits.sum() < max(5, 0.01 * present.size) or np.unique(rest).size < 10:
            continue
        spread = rest.max() - rest.min()
        gap = candidate - rest.max() if candidate > rest.max() else rest.min() - candidate
        if gap > spread:
            return float(candidate)
    return None


def _infer_kind(series: pl.Series) -> tuple[str | None, str]:
    """The column's kind, or None with the reason it is not used."""
    n = len(series)
    if series.dtype == pl.Boolean:
        kind = "boolean"
    elif col.is_temporal_dtype(series.dtype):
        kind = "datetime"
    elif col.is_numeric_dtype(series.dtype):
        values = col.to_number(series)
        present = values[~np.isnan(values)]
        unique = np.unique(present)
        if present.size == n and n >= 50 and unique.size == n and np.all(np.mod(present, 1) == 0):
            return None, "id-like: a different whole number on every row"
        kind = "numeric"
    elif series.dtype in (pl.String, pl.Null, pl.Categorical) or isinstance(series.dtype, pl.Enum):
        text = col.clean_text(series)
        present = text.drop_nulls()
        if present.len() == 0:
            return None, "empty: no values"
        keys = present.str.to_lowercase()
        distinct = keys.n_unique()
        if keys.is_in(list(col.TRUE_TOKENS | col.FALSE_TOKENS)).all() and distinct == 2:
            return "boolean", ""
        numeric = present.str.contains(col.NUMBER_RE).sum()
        if numeric >= 0.99 * present.len():
            return _infer_kind(pl.Series(series.name, col.to_number(series)))
        if col.looks_like_datetime(present):
            kind = "datetime"
        else:
            if present.len() >= 20 and distinct >= 0.95 * present.len():
                return None, "id-like: a different value on (almost) every row"
            kind = "categorical"
    else:
        return None, f"unsupported type {series.dtype}"
    return kind, ""


def _is_constant(series: pl.Series, kind: str) -> str:
    """Why the column carries no information, or ''."""
    if kind == "categorical":
        keys = col.category_keys(series)
    elif kind == "datetime":
        keys = pl.Series(col.to_epoch_seconds(series)).fill_nan(None)
    elif kind == "boolean":
        keys = pl.Series(col.to_boolean(series)).fill_nan(None)
    else:
        keys = pl.Series(col.to_number(series)).fill_nan(None)
    present = keys.drop_nulls()
    if present.len() == 0:
        return "empty: no usable values"
    if present.n_unique() == 1 and present.len() == len(series):
        return f"constant: always {present[0]!r}"
    return ""


def _fit_categories(series: pl.Series) -> tuple[list[str], list[str], bool, str]:
    keys = col.category_keys(series)
    text = col.clean_text(series)
    frame = pl.DataFrame({"key": keys, "text": text}).drop_nulls()
    n = len(series)
    min_count = max(10, math.ceil(0.001 * n))
    counts = (
        frame.group_by("key")
        .agg(pl.len().alias("n"), pl.col("text").mode().sort().first().alias("label"))
        .sort(["n", "key"], descending=[True, False])
    )
    kept = counts.filter(pl.col("n") >= min_count).head(MAX_CATEGORIES)
    if kept.height == 0:
        kept = counts.head(1)
    has_other = kept.height < counts.height
    note = ""
    if has_other:
        pooled = counts.height - kept.height
        note = (
            f"the {MAX_CATEGORIES} most frequent values kept, {pooled} others pooled as 'other'"
            if counts.filter(pl.col("n") >= min_count).height > MAX_CATEGORIES
            else f"{pooled} values seen on fewer than {min_count} leads pooled as 'other'"
        )
    return kept["key"].to_list(), kept["label"].to_list(), has_other, note


def fit_spec(
    frame: pl.DataFrame,
    *,
    skip: dict[str, str],
    time_column: str | None = None,
) -> FeatureSpec:
    """Decide how each column is used. `skip` maps columns not to use to the reason why."""
    features: list[Feature] = []
    dropped = [{"column": c, "reason": r} for c, r in skip.items() if c in frame.columns]
    for name in frame.columns:
        if name in skip and name != time_column:
            continue
        series = frame[name]
        kind, reason = _infer_kind(series)
        if name == time_column:
            if kind != "datetime":
                raise MLInputError(f"time column {name!r} does not hold dates or datetimes")
        elif kind is None:
            dropped.append({"column": name, "reason": reason})
            continue
        reason = "" if name == time_column else _is_constant(series, kind)
        if reason:
            dropped.append({"column": name, "reason": reason})
            continue
        features.append(_fit_feature(name, kind, series, is_time=name == time_column))
    design = [d for f in features for d in design_columns(f)]
    return FeatureSpec(features=features, dropped=dropped, design=design, time_column=time_column)


def _fit_feature(name: str, kind: str, series: pl.Series, *, is_time: bool) -> Feature:
    missing = bool(col.clean_text(series).null_count() > 0)
    feature = Feature(name=name, kind=kind, required=not missing)
    if kind == "numeric":
        values = col.to_number(series)
        bad = int(np.isnan(values).sum() - col.clean_text(series).null_count())
        feature.required = not bool(np.isnan(values).any())
        feature.sentinel = detect_sentinel(values)
        if feature.sentinel is not None:
            feature.note = f"{_fmt(feature.sentinel)} read as 'none/never' (a sentinel value)"
            values = np.where(values == feature.sentinel, np.nan, values)
        if bad > 0:
            feature.note = "; ".join(
                filter(None, [feature.note, f"{bad} values that are not numbers read as missing"])
            )
        feature.quantiles = _present_quantiles(values)
    elif kind == "categorical":
        feature.categories, feature.labels, feature.has_other, feature.note = _fit_categories(
            series
        )
    elif kind == "datetime":
        seconds = col.to_epoch_seconds(series)
        feature.required = not bool(np.isnan(seconds).any())
        present = seconds[~np.isnan(seconds)]
        with_time = bool(np.any(np.mod(present, SECONDS_PER_DAY) != 0))
        feature.parts = (["month", "weekday"] if is_time else ["days_ago", "month", "weekday"]) + (
            ["hour"] if with_time else []
        )
        if is_time:
            feature.note = "the row's time: used for time-ordered validation and its date parts"
    return feature


def design_columns(feature: Feature) -> list[DesignColumn]:
    """The design columns one raw feature expands to."""
    name = feature.name
    if feature.kind == "categorical":
        return [DesignColumn(name, name, "cat")]
    if feature.kind == "boolean":
        return [DesignColumn(name, name, "num")]
    if feature.kind == "numeric":
        out = [DesignColumn(name, name, "num")]
        if feature.sentinel is not None:
            out.append(DesignColumn(f"{name} = {_fmt(feature.sentinel)}", name, "flag", "sentinel"))
        return out
    kinds = {"days_ago": "num", "month": "cat", "weekday": "cat", "hour": "num"}
    return [DesignColumn(f"{name}: {p}", name, kinds[p], p) for p in feature.parts]


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def reference_time(frame: pl.DataFrame, spec: FeatureSpec) -> float | None:
    """The default 'now' for recency: the latest date found in the table's date columns."""
    latest = -np.inf
    for f in spec.features:
        if f.kind == "datetime" and f.name in frame.columns:
            seconds = col.to_epoch_seconds(frame[f.name])
            if np.any(~np.isnan(seconds)):
                latest = max(latest, float(np.nanmax(seconds)))
    return None if latest == -np.inf else latest


def check_columns(frame: pl.DataFrame, spec: FeatureSpec, source: str) -> None:
    """Fail (exit 2) when a column the model cannot do without is absent."""
    missing = [c for c in spec.required_columns() if c not in frame.columns]
    if missing:
        raise MLInputError(f"{source}: missing required column(s): {', '.join(missing)}")


def transform(frame: pl.DataFrame, spec: FeatureSpec, *, as_of: float | None = None) -> np.ndarray:
    """The design matrix of `frame` (float64, NaN = missing); absent optional columns are NaN."""
    n = frame.height
    out = np.full((n, len(spec.design)), np.nan, dtype=np.float64)
    position = {id(d): j for j, d in enumerate(spec.design)}
    blocks = {f.name: [d for d in spec.design if d.source == f.name] for f in spec.features}
    if as_of is None:
        as_of = reference_time(frame, spec)
    row_time = None
    if spec.time_column and spec.time_column in frame.columns:
        row_time = col.to_epoch_seconds(frame[spec.time_column])
    for f in spec.features:
        if f.name not in frame.columns:
            continue
        series = frame[f.name]
        cols = {d.part: position[id(d)] for d in blocks[f.name]}
        if f.kind == "numeric":
            values = col.to_number(series)
            if f.sentinel is not None:
                hit = values == f.sentinel
                out[:, cols["sentinel"]] = hit.astype(np.float64)
                values = np.where(hit, np.nan, values)
            out[:, cols["value"]] = values
        elif f.kind == "boolean":
            out[:, cols["value"]] = col.to_boolean(series)
        elif f.kind == "categorical":
            out[:, cols["value"]] = encode_categories(series, f)
        else:
            seconds = col.to_epoch_seconds(series)
            _fill_datetime(out, cols, seconds, f, row_time, as_of, spec.time_column)
    return out


def encode_categories(series: pl.Series, feature: Feature) -> np.ndarray:
    """Integer codes of the kept categories; 'other' for the rest; NaN when missing."""
    keys = col.category_keys(series)
    mapping = {k: float(i) for i, k in enumerate(feature.categories)}
    other = float(len(feature.categories)) if feature.has_other else None
    coded = keys.replace_strict(mapping, default=other, return_dtype=pl.Float64)
    coded = pl.select(pl.when(keys.is_null()).then(None).otherwise(coded)).to_series()
    return coded.to_numpy().astype(np.float64)


def _fill_datetime(
    out: np.ndarray,
    cols: dict[str, int],
    seconds: np.ndarray,
    feature: Feature,
    row_time: np.ndarray | None,
    as_of: float | None,
    time_column: str | None,
) -> None:
    present = ~np.isnan(seconds)
    safe = np.where(present, seconds, 0.0)
    if "days_ago" in cols:
        if row_time is not None and feature.name != time_column:
            reference = row_time
        else:
            reference = np.full(seconds.shape, np.nan if as_of is None else as_of)
        out[:, cols["days_ago"]] = (reference - seconds) / SECONDS_PER_DAY
    moments = safe.astype("int64").astype("datetime64[s]")
    if "month" in cols:
        month = moments.astype("datetime64[M]").astype(np.int64) % 12
        out[:, cols["month"]] = np.where(present, month, np.nan)
    if "weekday" in cols:
        days = np.floor(safe / SECONDS_PER_DAY)
        out[:, cols["weekday"]] = np.where(present, (days + 3) % 7, np.nan)
    if "hour" in cols:
        out[:, cols["hour"]] = np.where(
            present, np.floor(np.mod(safe, SECONDS_PER_DAY) / 3600), np.nan
        )
