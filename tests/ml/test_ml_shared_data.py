"""The real datasets in ../shared/data: the leakage guard, sentinels, calibration, and the CLI
on X Education. Subsamples and few folds keep this quick."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from leadscore.ml import leakage
from leadscore.ml.features import fit_spec, transform
from leadscore.ml.io import read_table
from leadscore.ml.train import TrainOptions, make_splits, train

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def _flagged(frame: pl.DataFrame, target: str, y: np.ndarray, skip: list[str]) -> set[str]:
    spec = fit_spec(frame, skip={target: "target", **dict.fromkeys(skip, "x")})
    X = transform(frame, spec)
    scan = leakage.single_feature_scan(X, y, spec, make_splits(y, 5, 42, False))
    return {w.column for w in leakage.find_leaks(scan, {}, None)}


@pytest.fixture(scope="module")
def x_education(shared_data: Path) -> pl.DataFrame:
    return read_table(shared_data / "x-education-leads" / "Leads.csv")


@pytest.fixture(scope="module")
def bank(shared_data: Path) -> pl.DataFrame:
    return read_table(shared_data / "uci-bank-marketing" / "bank-additional-train.csv")


def test_guard_flags_tags_and_lead_quality_and_nothing_else(x_education: pl.DataFrame) -> None:
    y = x_education["Converted"].cast(pl.Int64).to_numpy()
    assert _flagged(x_education, "Converted", y, []) == {"Tags", "Lead Quality"}


def test_guard_flags_bank_duration_and_nothing_else(bank: pl.DataFrame) -> None:
    y = (bank["y"] == "yes").cast(pl.Int64).to_numpy()
    assert _flagged(bank, "y", y, []) == {"duration"}


def test_bank_pdays_999_is_a_sentinel(bank: pl.DataFrame) -> None:
    spec = fit_spec(bank, skip={"y": "target"})
    assert spec.feature("pdays").sentinel == 999
    others = [f.name for f in spec.features if f.kind == "numeric" and f.sentinel is not None]
    assert others == ["pdays"]


def test_cli_warns_about_leaks_on_x_education(
    x_education: pl.DataFrame, tmp_path: Path, cli
) -> None:
    data = tmp_path / "leads.csv"
    x_education.sample(3000, seed=1).write_csv(data)
    run = cli(
        "train",
        "--data",
        data,
        "--target",
        "Converted",
        "--out",
        tmp_path / "m",
        "--folds",
        "3",
        "--id",
        "Prospect ID",
        "--engine",
        "sklearn",
    )
    assert run.code == 0, run.stderr
    warned = [line for line in run.stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 2
    assert "'Tags'" in warned[0] and "'Lead Quality'" in warned[1]
    card = (tmp_path / "m" / "model_card.md").read_text()
    assert "**Tags**" in card and "**Lead Quality**" in card and "--exclude" in card


def test_x_education_without_leaks_is_calibrated_and_accurate(x_education: pl.DataFrame) -> None:
    frame = x_education.sample(3000, seed=2)
    options = TrainOptions(
        target="Converted", exclude=["Tags", "Lead Quality"], folds=3, use_lightgbm=False
    )
    result = train(frame, options, source="Leads.csv", trained_at="t")
    m = result.report["metrics"]
    assert result.report["leakage"]["warnings"] == []
    assert m["roc_auc"] > 0.9
    assert m["calibration_error"] < 0.03
    dropped = {d["column"] for d in result.report["features"]["dropped"]}
    assert {"Prospect ID", "Lead Number", "Magazine"} <= dropped


def test_bank_time_ordered_validation_reveals_the_drift(bank: pl.DataFrame) -> None:
    frame = bank[::5]  # every fifth row keeps the time order
    kw = {"target": "y", "exclude": ["duration"], "folds": 3, "use_lightgbm": False}
    timed = train(frame, TrainOptions(**kw, row_order_is_time=True), source="b", trained_at="t")
    shuffled = train(frame, TrainOptions(**kw), source="b", trained_at="t")
    assert timed.report["validation"]["scheme"] == "time-ordered expanding window"
    assert timed.report["validation"]["rows_scored"] < frame.height
    assert "metrics_latest_fold" in timed.report
    assert timed.report["metrics"]["calibration_error"] < 0.05
    # the macro-economic columns drift: shuffled folds overstate what later data will see
    assert shuffled.report["metrics"]["roc_auc"] > timed.report["metrics"]["roc_auc"] + 0.05
    # and the card of the time-ordered model says so itself, beside its out-of-time figures
    assert timed.report["metrics_shuffled"]["roc_auc"] > timed.report["metrics"]["roc_auc"] + 0.05
