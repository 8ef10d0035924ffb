"""Training on synthetic leads with a known propensity: recovery, calibration, determinism,
validation schemes, the leakage guard, and clean errors for unusable targets."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from leadscore.ml.errors import MLInputError
from leadscore.ml.metrics import expected_calibration_error
from leadscore.ml.predict import probabilities
from leadscore.ml.train import TrainOptions, choose_candidate, train


def _train(frame: pl.DataFrame, **kw):
    options = TrainOptions(
        target="converted", id_column="lead_id", folds=3, use_lightgbm=False, **kw
    )
    return train(frame, options, source="leads.csv", trained_at="2025-01-01T00:00:00Z")


@pytest.fixture(scope="module")
def fitted(make_leads):
    frame, _ = make_leads(2500, seed=3)
    return _train(frame)


def test_model_recovers_the_known_propensity(fitted, make_leads) -> None:
    new, truth = make_leads(3000, seed=4)
    _, p = probabilities(fitted.model, fitted.meta, fitted.spec, new, as_of=None)
    y = (new["converted"] == "yes").to_numpy()
    best_possible = roc_auc_score(y, truth)
    assert roc_auc_score(y, p) > best_possible - 0.03
    assert roc_auc_score(y, p) > 0.65
    assert np.corrcoef(p, truth)[0, 1] > 0.85


def test_probabilities_are_calibrated(fitted, make_leads) -> None:
    metrics = fitted.report["metrics"]
    assert metrics["calibration_error"] < 0.04
    new, _ = make_leads(3000, seed=5)
    _, p = probabilities(fitted.model, fitted.meta, fitted.spec, new, as_of=None)
    y = (new["converted"] == "yes").to_numpy().astype(int)
    assert expected_calibration_error(y, p) < 0.04
    assert abs(p.mean() - y.mean()) < 0.03


def test_card_reports_every_section(fitted) -> None:
    r = fitted.report
    assert r["data"]["positive_value"] == "yes" and r["data"]["rows_used"] == 2500
    assert set(r["model"]["candidates"]) == {"logistic", "gbm", "blend"}
    assert r["model"]["chosen"] in r["model"]["candidates"]
    assert len(r["metrics"]["calibration"]) == 10 and len(r["metrics"]["lift"]) == 10
    assert r["metrics"]["lift"][0]["lift"] > 1.5
    assert r["metrics"]["lift"][-1]["cumulative_share_of_conversions"] == pytest.approx(1.0)
    dropped = {d["column"]: d["reason"] for d in r["features"]["dropped"]}
    assert dropped["lead_id"].startswith("the id column")
    kept = {f["name"]: f for f in r["features"]["kept"]}
    assert "sentinel" in kept["days_since_purchase"]["note"]
    assert kept["newsletter"]["kind"] == "boolean"
    assert r["leakage"]["warnings"] == []  # honest features are not flagged


@pytest.mark.slow
@pytest.mark.parametrize("time_ordered", [False, True])
def test_same_seed_same_probabilities(make_leads, time_ordered: bool) -> None:
    frame, _ = make_leads(700, seed=6)
    kw = {"seed": 11, "row_order_is_time": time_ordered}
    first, second = _train(frame, **kw), _train(frame, **kw)
    p1 = probabilities(first.model, first.meta, first.spec, frame, as_of=None)[1]
    p2 = probabilities(second.model, second.meta, second.spec, frame, as_of=None)[1]
    np.testing.assert_array_equal(p1, p2)
    assert first.report["metrics"] == second.report["metrics"]
    assert first.report.get("metrics_shuffled") == second.report.get("metrics_shuffled")
    assert ("metrics_shuffled" in first.report) is time_ordered


def test_time_column_validates_out_of_time(make_leads) -> None:
    frame, _ = make_leads(900, seed=7)
    result = _train(frame.reverse(), time_column="created_at")
    assert result.report["validation"]["scheme"] == "time-ordered expanding window"
    assert result.report["validation"]["rows_scored"] < 900  # the earliest rows only train
    assert "metrics_latest_fold" in result.report
    assert "time column" not in str(result.report["leakage"]["warnings"])


@pytest.mark.slow
def test_planted_outcome_leak_and_late_date_are_flagged(make_leads) -> None:
    frame, _ = make_leads(900, seed=8)
    rng = np.random.default_rng(0)
    won = (frame["converted"] == "yes").to_numpy()
    noisy = np.where(rng.random(len(won)) < 0.03, ~won, won)
    created = frame["created_at"].str.to_date()
    frame = frame.with_columns(
        status=pl.Series(np.where(noisy, "Closed won", "Lost")),
        followup_at=(created + pl.duration(days=pl.Series(rng.integers(-5, 30, len(won))))),
    )
    result = _train(frame, time_column="created_at")
    flagged = {w["column"]: w["reason"] for w in result.report["leakage"]["warnings"]}
    assert set(flagged) == {"status", "followup_at"}
    assert "almost perfectly" in flagged["status"]
    assert "later than the row's time (created_at)" in flagged["followup_at"]
    cleaned = _train(frame, time_column="created_at", exclude=["status", "followup_at"])
    assert cleaned.report["leakage"]["warnings"] == []


@pytest.mark.slow
def test_positive_value_detection_and_override(make_leads) -> None:
    frame, _ = make_leads(600, seed=9)
    frame = frame.with_columns(
        converted=pl.when(pl.col("converted") == "yes")
        .then(pl.lit("Won"))
        .otherwise(pl.lit("Lost"))
    )
    assert _train(frame).report["data"]["positive_value"] == "won"
    other = frame.with_columns(outcome=pl.col("converted").replace({"Won": "a", "Lost": "b"}))
    other = other.drop("converted").rename({"outcome": "converted"})
    with pytest.raises(MLInputError, match="pass --positive"):
        _train(other)
    assert _train(other, positive="a").report["data"]["positive_rate"] > 0.2
    with pytest.raises(MLInputError, match="--positive 'zzz' does not occur"):
        _train(other, positive="zzz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.with_columns(converted=pl.lit("no")), "single class"),
        (
            lambda f: pl.concat(
                [f.filter(pl.col("converted") == "no"), f.filter(pl.col("converted") == "yes")[:5]]
            ),
            "only 5 rows of one outcome",
        ),
        (lambda f: f.rename({"converted": "outcome"}), "target column 'converted' not found"),
        (lambda f: f.with_columns(converted=pl.lit(None, pl.String)), "has no values"),
    ],
)
def test_unusable_targets_raise_clear_errors(make_leads, change, message: str) -> None:
    frame, _ = make_leads(300, seed=10)
    with pytest.raises(MLInputError, match=message):
        _train(change(frame))


def test_unknown_excluded_column_is_named(make_leads) -> None:
    frame, _ = make_leads(300, seed=10)
    with pytest.raises(MLInputError, match="--exclude column 'Tagz' not found"):
        _train(frame, exclude=["Tagz"])


def test_blend_must_beat_the_best_single_family_beyond_fold_noise() -> None:
    def scores(logistic, gbm, blend):
        return {
            n: {"roc_auc_mean": float(np.mean(f)), "folds": f}
            for n, f in (("logistic", logistic), ("gbm", gbm), ("blend", blend))
        }

    steady = scores([0.70, 0.72, 0.71], [0.71, 0.73, 0.72], [0.715, 0.735, 0.725])
    assert choose_candidate(steady) == "blend"
    noisy = scores([0.60, 0.62, 0.61], [0.61, 0.63, 0.62], [0.64, 0.61, 0.62])
    assert choose_candidate(noisy) == "gbm"
    assert choose_candidate(scores([0.8, 0.8], [0.7, 0.7], [0.75, 0.75])) == "logistic"
