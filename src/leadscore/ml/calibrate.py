"""Turning model log-odds into probabilities that match observed conversion rates.

The calibrator is learnt on out-of-fold log-odds (each lead scored by a model that did not see
it), the way scikit-learn's CalibratedClassifierCV(ensemble=False) does, without refitting the
models a second time. Two methods are tried and the one with the lower cross-fitted log loss
wins: Platt's sigmoid (two numbers; best for small data) and isotonic regression (any monotone
shape; only offered with at least 200 leads of each class). The isotonic steps are replaced by
straight lines through the centres of the steps, so the map is strictly increasing: ranking,
and hence ROC AUC, is unchanged by calibration. The result is plain numbers (JSON).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

MIN_CLASS_FOR_ISOTONIC = 200
P_FLOOR = 1e-4
MIN_SLOPE = 0.01
EDGE_SLOPE = 1e-6


def _sigmoid(z: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Platt's sigmoid. A slope at or below zero (out-of-fold log-odds that do not rank, as
    out of time under strong drift) would reverse the model's order: it is floored at a small
    positive slope instead, so the order is kept and the probabilities stay near the rate."""
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(z.reshape(-1, 1), y)
    a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if a < MIN_SLOPE:
        rate = float(np.clip(y.mean(), P_FLOOR, 1 - P_FLOOR))
        a, b = MIN_SLOPE, float(np.log(rate / (1 - rate)) - MIN_SLOPE * z.mean())
    return {"method": "sigmoid", "a": a, "b": b}


def _isotonic(z: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    order = np.argsort(z, kind="stable")
    zs, ys = z[order], y[order].astype(np.float64)
    fitted = IsotonicRegression(out_of_bounds="clip").fit_transform(zs, ys)
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    ends = np.r_[starts[1:], len(fitted)]
    centres = np.array([zs[s:e].mean() for s, e in zip(starts, ends, strict=True)])
    levels = fitted[starts]
    keep = np.r_[True, np.diff(centres) > 0]
    return {"method": "isotonic", "x": centres[keep].tolist(), "y": levels[keep].tolist()}


def fit_calibrator(z: np.ndarray, y: np.ndarray, method: str) -> dict[str, Any]:
    """Fit one method on log-odds `z` and outcomes `y`."""
    return _isotonic(z, y) if method == "isotonic" else _sigmoid(z, y)


def apply(calibrator: dict[str, Any], z: np.ndarray) -> np.ndarray:
    """Probabilities for log-odds `z`."""
    if calibrator["method"] == "isotonic":
        x = np.asarray(calibrator["x"])
        p = np.interp(z, x, np.asarray(calibrator["y"]))
        # np.interp is flat beyond the end points: a vanishing slope there keeps the order of
        # log-odds the calibration never saw (new leads beyond the training range)
        above, below = np.maximum(z - x[-1], 0), np.maximum(x[0] - z, 0)
        p += EDGE_SLOPE * (above / (1 + above) - below / (1 + below))
    else:
        p = 1.0 / (1.0 + np.exp(-(calibrator["a"] * z + calibrator["b"])))
    clipped: np.ndarray = np.clip(p, P_FLOOR, 1 - P_FLOOR)
    return clipped


def cross_fit(z: np.ndarray, y: np.ndarray, fold: np.ndarray, method: str) -> np.ndarray:
    """Out-of-fold calibrated probabilities: each fold calibrated by the other folds."""
    out = np.empty_like(z)
    for k in np.unique(fold):
        test = fold == k
        train = ~test
        if len(np.unique(y[train])) < 2:
            out[test] = y[train].mean() if train.any() else 0.5
            continue
        out[test] = apply(fit_calibrator(z[train], y[train], method), z[test])
    return out


def choose(
    z: np.ndarray, y: np.ndarray, fold: np.ndarray
) -> tuple[str, np.ndarray, dict[str, float]]:
    """The better method by cross-fitted log loss, its out-of-fold probabilities, and losses."""
    methods = ["sigmoid"]
    if min(int(y.sum()), int(len(y) - y.sum())) >= MIN_CLASS_FOR_ISOTONIC:
        methods.append("isotonic")
    results: dict[str, tuple[float, np.ndarray]] = {}
    for m in methods:
        p = cross_fit(z, y, fold, m)
        results[m] = (log_loss(y, p, labels=[0, 1]), p)
    best = min(methods, key=lambda m: results[m][0])
    return best, results[best][1], {m: float(v[0]) for m, v in results.items()}
