"""The regularised logistic regression behind `suggest`.

L2-penalised, no class weights (so the coefficients are log-odds on the real base rate), on
standardised features so that one penalty treats every rule alike; the strength C is chosen
by stratified cross-validation on log loss, and the coefficients are mapped back to the
rules' own units (per occurrence, or per rule that holds). A rule without variation among
the decided leads (it never fires, or always does) gets no coefficient: there is no evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

C_GRID = tuple(float(c) for c in np.logspace(-3, 2, 11))
DEFAULT_C = 1.0
"""Used when a class has a single lead, too few to cross-validate C."""
MAX_FOLDS = 5


@dataclass(frozen=True)
class Fit:
    coef: np.ndarray
    """Per rule, in the rule's own units; NaN where there is no evidence."""
    intercept: float
    C: float


def folds_for(y: np.ndarray, wanted: int = MAX_FOLDS) -> int:
    """As many folds as the smaller class allows (at most `wanted`), at least 2."""
    smaller = int(min(np.sum(y == 1), np.sum(y == 0)))
    return max(2, min(wanted, smaller))


def fit_logistic(X: np.ndarray, y: np.ndarray, seed: int = 0) -> Fit:
    """Fit on the rules that vary; C by cross-validated log loss over `C_GRID`."""
    coef = np.full(X.shape[1], np.nan)
    std = X.std(axis=0)
    varying = np.flatnonzero(std > 1e-12)
    if varying.size == 0:
        rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        return Fit(coef, float(np.log(rate / (1 - rate))), float("nan"))
    mean = X[:, varying].mean(axis=0)
    Z = (X[:, varying] - mean) / std[varying]
    best = _choose_c(Z, y, seed)
    model = _logistic(best).fit(Z, y)
    raw = model.coef_[0] / std[varying]
    coef[varying] = raw
    intercept = float(model.intercept_[0] - np.dot(raw, mean))
    return Fit(coef, intercept, best)


def _logistic(c: float, warm: bool = False) -> LogisticRegression:
    return LogisticRegression(C=c, solver="newton-cg", max_iter=1000, tol=1e-6, warm_start=warm)


def _choose_c(Z: np.ndarray, y: np.ndarray, seed: int) -> float:
    """The C of the lowest mean held-out log loss; each fold walks the grid from the strongest
    penalty up, starting each fit from the last one's solution."""
    if min(np.sum(y == 1), np.sum(y == 0)) < 2:
        return DEFAULT_C
    splitter = StratifiedKFold(folds_for(y), shuffle=True, random_state=seed)
    losses = np.zeros(len(C_GRID))
    for train, test in splitter.split(Z, y):
        model = _logistic(C_GRID[0], warm=True)
        for i, c in enumerate(C_GRID):
            model.set_params(C=c).fit(Z[train], y[train])
            losses[i] += log_loss(y[test], model.predict_proba(Z[test])[:, 1], labels=[0, 1])
    return C_GRID[int(np.argmin(losses))]
