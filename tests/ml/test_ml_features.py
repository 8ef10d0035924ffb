"""Column typing and coding: placeholders, booleans, sentinels, ids, constants, categories."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadscore.ml.errors import MLInputError
from leadscore.ml.features import (
    FeatureSpec,
    check_columns,
    detect_sentinel,
    fit_spec,
    transform,
)


def _spec(frame: pl.DataFrame, **kw) -> FeatureSpec:
    return fit_spec(frame, skip={}, **kw)


def test_kinds_are_inferred_from_text_cells() -> None:
    n = 60
    frame = pl.DataFrame(
        {
            "num": [str(i % 7) + ".5" for i in range(n)],
            "flag": ["Yes", "no"] * (n // 2),
            "cat": ["Google", "google", "Direct", "Select"] * (n // 4),
            "when": [f"2024-03-{1 + i % 28:02d}T10:00:00Z" for i in range(n)],
        }
    )
    spec = _spec(frame)
    kinds = {f.name: f.kind for f in spec.features}
    assert kinds == {"num": "numeric", "flag": "boolean", "cat": "categorical", "when": "datetime"}
    cat = spec.feature("cat")
    assert cat.categories == ["google", "direct"]  # case folded; "Select" is missing
    assert cat.labels[0] == "Google"
    X = transform(frame, spec)
    col = [d.name for d in spec.design].index("cat")
    assert np.isnan(X[3, col]) and X[0, col] == X[1, col] == 0.0


def test_placeholders_are_missing_and_make_a_column_optional() -> None:
    frame = pl.DataFrame({"x": ["a", "b", "", "N/A", "Select", "a"] * 10})
    spec = _spec(frame)
    assert not spec.feature("x").required
    X = transform(frame, spec)
    assert np.isnan(X[:, 0]).sum() == 30


def test_constant_and_id_columns_are_dropped_with_a_reason() -> None:
    n = 80
    frame = pl.DataFrame(
        {
            "uuid": [f"id-{i}" for i in range(n)],
            "number": list(range(1000, 1000 + n)),
            "same": ["No"] * n,
            "empty": [None] * n,
            "kept": ["a", "b"] * (n // 2),
            "presence": ["x", None] * (n // 2),
        }
    )
    spec = _spec(frame)
    dropped = {d["column"]: d["reason"] for d in spec.dropped}
    assert set(dropped) == {"uuid", "number", "same", "empty"}
    assert dropped["uuid"].startswith("id-like") and dropped["number"].startswith("id-like")
    assert dropped["same"].startswith("constant")
    assert [f.name for f in spec.features] == ["kept", "presence"]


def test_pdays_like_sentinel_becomes_missing_plus_indicator() -> None:
    rng = np.random.default_rng(0)
    values = np.where(rng.random(500) < 0.9, 999, rng.integers(0, 27, 500))
    frame = pl.DataFrame({"pdays": values})
    spec = _spec(frame)
    f = spec.feature("pdays")
    assert f.sentinel == 999 and "sentinel" in f.note
    X = transform(frame, spec)
    assert [d.part for d in spec.design] == ["value", "sentinel"]
    assert np.all(np.isnan(X[values == 999, 0])) and np.all(X[values == 999, 1] == 1)
    assert np.all(X[values != 999, 0] == values[values != 999])


@pytest.mark.parametrize(
    "values",
    [
        np.r_[np.zeros(300), np.arange(1, 200)],  # many zeros at the edge: not a sentinel
        np.r_[np.full(3, 999.0), np.arange(0, 200)],  # far but rare
        np.r_[np.full(100, 50.0), np.arange(0, 40)],  # frequent but not far
    ],
)
def test_ordinary_values_are_not_sentinels(values: np.ndarray) -> None:
    assert detect_sentinel(values.astype(float)) is None


def test_high_cardinality_keeps_frequent_values_and_pools_the_rest() -> None:
    values = [f"title {i % 40}" for i in range(400)] + [f"rare {i}" for i in range(200)]
    spec = _spec(pl.DataFrame({"title": values}))
    f = spec.feature("title")
    assert len(f.categories) == 40 and f.has_other
    X = transform(pl.DataFrame({"title": ["title 3", "never seen", None]}), spec)
    assert X[0, 0] == f.categories.index("title 3")
    assert X[1, 0] == 40  # unseen -> "other"
    assert np.isnan(X[2, 0])


def test_unseen_category_without_other_is_missing() -> None:
    spec = _spec(pl.DataFrame({"c": ["a", "b"] * 30}))
    X = transform(pl.DataFrame({"c": ["zzz"]}), spec)
    assert np.isnan(X[0, 0])


def test_dates_give_parts_and_recency() -> None:
    frame = pl.DataFrame({"seen": ["2024-01-01", "2024-01-11", "2024-01-31"] * 20})
    spec = _spec(frame)
    parts = [d.part for d in spec.design]
    assert parts == ["days_ago", "month", "weekday"]  # no hour: all midnight
    X = transform(frame, spec)
    assert X[:3, 0].tolist() == [30.0, 20.0, 0.0]  # relative to the latest date in the file
    assert X[0, 2] == 0  # 2024-01-01 was a Monday
    X2 = transform(frame, spec, as_of=1706745600.0)  # 2024-02-01
    assert X2[2, 0] == 1.0


def test_time_column_must_hold_dates() -> None:
    with pytest.raises(MLInputError, match="time column 'x'"):
        _spec(pl.DataFrame({"x": ["a", "b"] * 30}), time_column="x")


def test_spec_round_trips_through_json_and_checks_required_columns() -> None:
    frame = pl.DataFrame({"a": [1.0, 2.0, 3.0] * 20, "b": ["x", None, "y"] * 20})
    spec = _spec(frame)
    again = FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert spec.required_columns() == ["a"]
    check_columns(frame.drop("b"), spec, "f.csv")
    with pytest.raises(MLInputError, match="f.csv: missing required column.*: a"):
        check_columns(frame.drop("a"), spec, "f.csv")


def test_the_same_values_code_the_same_from_csv_text_and_typed_parquet() -> None:
    typed = pl.DataFrame({"n": [1, 2, None] * 20, "b": [True, False, None] * 20})
    text = typed.select(pl.all().cast(pl.String))
    spec = _spec(typed)
    np.testing.assert_array_equal(transform(typed, spec), transform(text, spec))


@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=1, max_size=30))
def test_any_text_column_transforms_without_error(values: list[str | None]) -> None:
    frame = pl.DataFrame({"c": values}, schema={"c": pl.String})
    spec = _spec(frame)
    X = transform(frame, spec)
    assert X.shape == (len(values), len(spec.design))
