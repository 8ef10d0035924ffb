"""The default learner when the world moves (issue 16 §3): a feature that leaves its training
range with a linear effect, and a card that shows the
shuffled and out-of-time figures side by side."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from leadscore.ml import calibrate, card
from leadscore.ml.estimators import thread_limit
from leadscore.ml.predict import probabilities
from leadscore.ml.train import TrainOptions, train

TRAIN_ROWS = 800
TEST_ROWS = 300


def drifting_leads(n: int, seed: int) -> pl.DataFrame:
    """Leads in time order whose `rate` climbs over time (each period's values reach beyond
    the previous ones) and pushes the log-odds up linearly; `source` adds a fixed effect."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, n)
    rate = 3.0 * t + rng.uniform(-0.5, 0.5, n)
    source = rng.choice(["web", "event", "partner"], n, p=[0.6, 0.25, 0.15])
    logit = -3.0 + 1.2 * rate + np.select([source == "event", source == "partner"], [0.8, -0.6])
    converted = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pl.DataFrame(
        {"rate": np.round(rate, 3), "source": source, "converted": converted.astype(int)}
    )


@pytest.fixture(scope="module")
def drifted() -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = drifting_leads(2 * TRAIN_ROWS, seed=16)  # the newer leads come a while later
    return frame[:TRAIN_ROWS], frame[-TEST_ROWS:]


@pytest.fixture(scope="module")
def timed(drifted):
    older, _ = drifted
    options = TrainOptions(
        target="converted", row_order_is_time=True, folds=3, use_lightgbm=False, seed=5
    )
    return train(older, options, source="leads.csv", trained_at="t")


def test_default_learner_beats_plain_gbm_when_a_feature_leaves_its_range(drifted, timed) -> None:
    older, newer = drifted
    y_new = newer["converted"].to_numpy()
    old_max = older["rate"].max()
    assert (newer["rate"] > old_max).mean() > 0.8  # most new leads are off the map
    _, p = probabilities(timed.model, timed.meta, timed.spec, newer, as_of=None)
    codes = {"web": 0, "event": 1, "partner": 2}
    X_old = older.select("rate", pl.col("source").replace_strict(codes))
    X_new = newer.select("rate", pl.col("source").replace_strict(codes))
    plain = HistGradientBoostingClassifier(categorical_features=[False, True], random_state=0)
    with thread_limit(len(older)):  # one thread: OpenMP spin-waits on a busy machine
        plain.fit(X_old.to_numpy(), older["converted"].to_numpy())
        plain_auc = roc_auc_score(y_new, plain.predict_proba(X_new.to_numpy())[:, 1])
    ours = roc_auc_score(y_new, p)
    assert ours > plain_auc + 0.02, (ours, plain_auc, timed.report["model"]["chosen"])
    assert timed.report["model"]["chosen"] in {"logistic", "blend"}


def test_card_shows_shuffled_and_out_of_time_figures_when_time_order_is_known(timed) -> None:
    report = timed.report
    assert report["validation"]["scheme"] == "time-ordered expanding window"
    shuffled, oot = report["metrics_shuffled"], report["metrics"]
    assert shuffled["folds"] == 3 and len(shuffled["roc_auc_folds"]) == 3
    assert shuffled["rows"] == TRAIN_ROWS > oot["rows"]  # shuffled folds score every lead
    # the later leads are easier to rank apart by `rate` in a mix of periods than within one
    assert shuffled["roc_auc"] > oot["roc_auc"]
    text = card.to_markdown(card.build(report))
    assert "## Out of time or shuffled?" in text
    assert f"| shuffled, 3 folds | {TRAIN_ROWS:,} | {shuffled['roc_auc']:.3f} |" in text
    assert f"| out of time, every period | {oot['rows']:,} | {oot['roc_auc']:.3f} |" in text
    why = {"blend": "chosen because it beat both families beyond fold-to-fold noise"}
    assert why.get(report["model"]["chosen"], "chosen because it scored best") in text


def test_card_without_time_order_has_shuffled_figures_only(drifted) -> None:
    older, _ = drifted
    options = TrainOptions(target="converted", folds=3, use_lightgbm=False)
    report = train(older[::3], options, source="leads.csv", trained_at="t").report
    assert "metrics_shuffled" not in report and "metrics_latest_fold" not in report
    assert "Out of time or shuffled?" not in card.to_markdown(card.build(report))


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibration_keeps_the_order_of_log_odds_that_no_longer_rank(method: str) -> None:
    # out of time the model's log-odds can rank backwards on the calibration rows; new leads
    # beyond the training range get log-odds beyond anything the calibrator saw
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 1.0, 2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(z))).astype(int)  # higher z, fewer conversions
    calibrator = calibrate.fit_calibrator(z, y, method)
    new = np.sort(np.r_[np.linspace(-3, 3, 50), [5.0, 8.0, 30.0, 300.0, -6.0, -40.0]])
    p = calibrate.apply(calibrator, new)
    assert np.all(np.diff(p) > 0), p  # strictly increasing: the ranking is the model's
    if method == "sigmoid":
        assert abs(p.mean() - y.mean()) < 0.05  # a near-flat map at the conversion rate
