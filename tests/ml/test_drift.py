"""The drift report (ml/drift.py): figures checked by hand on small tables, the thresholds,
a model without a profile, and the bank data's context columns moving over time."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from leadscore.ml import drift
from leadscore.ml.features import fit_spec, transform
from leadscore.ml.io import read_table

EPS = drift.EPSILON


def _term(new: float, old: float) -> float:
    a, e = max(new, EPS), max(old, EPS)
    return (a - e) * math.log(a / e)


@pytest.fixture(scope="module")
def training() -> pl.DataFrame:
    """100 rows: x and s are 1..10 ten times each; c is a x60, b x30, c x10."""
    values = [v for v in range(1, 11) for _ in range(10)]
    return pl.DataFrame(
        {
            "x": values,
            "s": values,
            "c": ["a"] * 60 + ["b"] * 30 + ["c"] * 10,
        }
    )


@pytest.fixture(scope="module")
def newer() -> pl.DataFrame:
    """20 rows: x moved up (10 x 10, 5 x 12, 5 missing), s as in training, c with a new
    category and the `Select` placeholder (missing)."""
    return pl.DataFrame(
        {
            "x": [10] * 10 + [12] * 5 + [None] * 5,
            "s": list(range(1, 11)) * 2,
            "c": ["a"] * 10 + ["b"] * 4 + ["d"] * 4 + ["Select"] * 2,
        }
    )


def _report(training: pl.DataFrame, newer: pl.DataFrame) -> dict:
    spec = fit_spec(training, skip={})
    profile = drift.fit_profile(training, spec, transform(training, spec))
    profile = json.loads(json.dumps(profile))  # as stored in the model's JSON
    return drift.report(profile, spec, newer, transform(newer, spec))


def test_profile_holds_deciles_range_and_shares(training: pl.DataFrame) -> None:
    spec = fit_spec(training, skip={})
    profile = drift.fit_profile(training, spec, transform(training, spec))
    x = profile["features"][0]
    assert x["feature"] == "x" and x["min"] == 1 and x["max"] == 10
    assert x["edges"] == pytest.approx([1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1])
    assert x["shares"] == pytest.approx([0.1] * 10) and x["missing"] == 0
    c = profile["features"][2]
    assert c["categories"] == ["a", "b", "c"] and c["shares"] == [0.6, 0.3, 0.1]
    assert c["other"] == 0 and c["missing"] == 0 and c["seen"] == ["a", "b", "c"]


def test_numeric_figures_by_hand(training: pl.DataFrame, newer: pl.DataFrame) -> None:
    x = _report(training, newer)["features"][0]
    assert (x["rows"], x["above"], x["below"], x["outside"]) == (20, 0.25, 0.0, 0.25)
    assert (x["missing"], x["training_missing"]) == (0.25, 0.0)
    assert (x["training_min"], x["training_max"], x["max"]) == (1, 10, 12)
    # the last decile bin (> 9.1) holds 15 of 20 rows, the other nine none, 5 missing
    expected = 9 * _term(0.0, 0.1) + _term(0.75, 0.1) + _term(0.25, 0.0)
    assert x["psi"] == pytest.approx(expected)
    assert x["drifted"] and x["status"] == "drifted"
    assert x["reasons"] == [
        f"PSI {expected:.2f} >= 0.25",
        "25.0% of rows outside the training range (>= 5%)",
    ]


def test_a_feature_that_did_not_move_is_stable(training: pl.DataFrame, newer: pl.DataFrame) -> None:
    s = _report(training, newer)["features"][1]
    assert s["psi"] == pytest.approx(0.0) and s["outside"] == 0.0
    assert not s["drifted"] and s["status"] == "stable" and s["reasons"] == []


def test_categorical_figures_by_hand(training: pl.DataFrame, newer: pl.DataFrame) -> None:
    c = _report(training, newer)["features"][2]
    assert c["unseen"] == 0.2 and c["unseen_values"] == [{"value": "d", "rows": 4}]
    assert (c["other"], c["training_other"]) == (0.2, 0.0)
    assert (c["missing"], c["training_missing"]) == (0.1, 0.0)  # `Select` is missing
    expected = (
        _term(0.5, 0.6) + _term(0.2, 0.3) + _term(0.0, 0.1) + _term(0.2, 0.0) + _term(0.1, 0.0)
    )
    assert c["psi"] == pytest.approx(expected)
    assert c["reasons"] == [
        f"PSI {expected:.2f} >= 0.25",
        "20.0% of rows in unseen categories (>= 5%)",
    ]


def test_report_lists_drifted_features_and_the_warning_names_them(
    training: pl.DataFrame, newer: pl.DataFrame
) -> None:
    found = _report(training, newer)
    assert found["drifted"] == ["x", "c"] and found["moderate"] == []
    assert found["thresholds"] == {"psi_drift": 0.25, "psi_moderate": 0.1, "share_drift": 0.05}
    x, c = found["features"][0]["psi"], found["features"][2]["psi"]
    assert x > c
    assert drift.warning(found) == (
        f"drift: x 25% of rows above the training range (max 10), PSI {x:.3g}; "
        f"c 20% of rows in categories not seen in training (e.g. 'd'), PSI {c:.3g}"
    )


def test_the_training_rows_themselves_show_no_drift(training: pl.DataFrame) -> None:
    found = _report(training, training)
    assert found["drifted"] == [] and drift.warning(found) is None
    assert all(f["psi"] == pytest.approx(0.0) for f in found["features"])


def test_moderate_shift_is_reported_but_not_drifted(training: pl.DataFrame) -> None:
    # s: 30% of rows at 1 instead of 10% (the others spread evenly): PSI between 0.1 and 0.25
    shifted = pl.DataFrame({"x": [5] * 10, "s": [1] * 3 + list(range(2, 9)), "c": ["a"] * 10})
    s = _report(training, shifted)["features"][1]
    expected = _term(0.3, 0.1) + 7 * _term(0.1, 0.1) + 2 * _term(0.0, 0.1)
    assert s["psi"] == pytest.approx(expected) and expected >= drift.PSI_MODERATE
    assert s["status"] == ("moderate" if expected < drift.PSI_DRIFT else "drifted")


def test_a_sentinel_is_its_own_bin_not_a_value_above_the_range() -> None:
    older = pl.DataFrame({"p": list(range(60)) + [999] * 40})  # 999 = "never"
    spec = fit_spec(older, skip={})
    assert spec.feature("p").sentinel == 999
    profile = drift.fit_profile(older, spec, transform(older, spec))
    assert profile["features"][0]["max"] == 59 and profile["features"][0]["sentinel"] == 0.4
    newer = pl.DataFrame({"p": [999] * 10 + [30] * 10})
    p = drift.report(profile, spec, newer, transform(newer, spec))["features"][0]
    assert (p["above"], p["sentinel"], p["training_sentinel"], p["missing"]) == (0, 0.5, 0.4, 0)
    assert p["sentinel_value"] == 999


def test_absent_column_is_all_missing(training: pl.DataFrame) -> None:
    found = _report(training, pl.DataFrame({"x": [1, 2], "c": ["a", "b"]}))
    s = found["features"][1]
    assert s["absent"] and s["missing"] == 1.0 and s["drifted"]


def test_no_rows_gives_no_figures(training: pl.DataFrame) -> None:
    found = _report(training, training.head(0))
    assert found["rows"] == 0 and found["drifted"] == []
    assert all(f["psi"] is None for f in found["features"])


def test_a_model_without_profile_gets_a_clear_answer() -> None:
    with pytest.raises(drift.NoProfileError, match="m: no training profile; retrain to get"):
        drift.profile_of({"spec": {}}, "m")


@pytest.mark.shared_data
def test_bank_context_columns_drift_from_the_earliest_80_to_the_latest_20(
    shared_data: Path,
) -> None:
    bank = read_table(shared_data / "uci-bank-marketing" / "bank-additional-train.csv")
    cut = int(0.8 * bank.height)
    older, latest = bank[:cut], bank[cut:]
    spec = fit_spec(older, skip={"y": "the target", "duration": "leaks"})
    profile = drift.fit_profile(older, spec, transform(older, spec))
    found = drift.report(profile, spec, latest, transform(latest, spec))
    by_name = {f["feature"]: f for f in found["features"]}
    context = ["emp.var.rate", "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed"]
    for name in context:
        assert by_name[name]["drifted"] and by_name[name]["psi"] > 5, by_name[name]
        assert by_name[name]["outside"] > 0.75
    assert by_name["euribor3m"]["below"] == pytest.approx(0.903, abs=0.001)
    assert by_name["month"]["unseen"] == pytest.approx(0.417, abs=0.001)
    for name in ("age", "marital", "education", "housing", "loan", "campaign"):
        assert by_name[name]["status"] == "stable", by_name[name]
    assert by_name["pdays"]["outside"] == 0 and by_name["pdays"]["psi"] < 0.01
    assert set(context) <= set(found["drifted"])
