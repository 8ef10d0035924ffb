"""The candidate models, all plain scikit-learn (or LightGBM) objects over the design matrix.

* `logistic`: L2-regularised logistic regression; numbers median-imputed with missing
  indicators and standardised, categories one-hot encoded. Exact per-feature contributions.
* `gbm`: gradient boosting with native categories and missing values. scikit-learn's
  HistGradientBoostingClassifier by default: below 50,000 rows a bag of three (log-odds
  averaged), each early-stopped on a different 10% validation split and seeing 80% of the
  features per split, which is steadier than one model on small and drifting data; one model
  above. LightGBM, set up the same way, when it is installed.
* `blend`: the average of the two log-odds (so contributions average too).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from leadscore.ml.features import FeatureSpec

if TYPE_CHECKING:
    from lightgbm import LGBMClassifier

GBM_BAG = 3
SMALL_DATA = 2000
LARGE_DATA = 50_000


PARALLEL_FROM = 20_000

Members: TypeAlias = list[Any]
"""A family's fitted estimators (scikit-learn or LightGBM objects: untyped libraries)."""
FittedModel: TypeAlias = dict[str, Members]
"""A fitted model: its families ("logistic", "gbm") and their members."""


def thread_limit(n_rows: int) -> AbstractContextManager[object]:
    """One OpenMP thread for small tables: there, threads cost more than they save, and on a
    busy machine their spin-waiting can make boosting many times slower."""
    return (
        threadpool_limits(limits=1, user_api="openmp") if n_rows < PARALLEL_FROM else nullcontext()
    )


def bag_size(n_rows: int) -> int:
    """Three early-stopped models below 50,000 rows; one above, where bagging adds little."""
    return GBM_BAG if n_rows < LARGE_DATA else 1


def lightgbm_available() -> bool:
    """True when the optional `lightgbm` extra is installed."""
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        return False
    return True


def make_logistic(spec: FeatureSpec) -> Pipeline:
    """Regularised logistic regression with scaling and one-hot encoding."""
    num = [j for j, d in enumerate(spec.design) if d.kind == "num"]
    flag = [j for j, d in enumerate(spec.design) if d.kind == "flag"]
    cat = [j for j, d in enumerate(spec.design) if d.kind == "cat"]
    parts = []
    if num:
        numeric = Pipeline(
            [
                (
                    "impute",
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                ),
                ("scale", StandardScaler()),
            ]
        )
        parts.append(("num", numeric, num))
    if flag:
        parts.append(("flag", "passthrough", flag))
    if cat:
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="constant", fill_value=-1.0)),
                ("onehot", OneHotEncoder(handle_unknown="ignore")),
            ]
        )
        parts.append(("cat", categorical, cat))
    prep = ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
    model = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=200)
    return Pipeline([("prep", prep), ("model", model)])


def _hgb(spec: FeatureSpec, seed: int, n_rows: int) -> HistGradientBoostingClassifier:
    if n_rows < SMALL_DATA:
        return HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=150,
            min_samples_leaf=max(5, min(20, n_rows // 50)),
            early_stopping=False,
            max_features=0.8,
            categorical_features=spec.cat_mask,
            random_state=seed,
        )
    return HistGradientBoostingClassifier(
        learning_rate=0.05 if n_rows < LARGE_DATA else 0.1,
        max_iter=500,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        max_features=0.8,
        categorical_features=spec.cat_mask,
        random_state=seed,
    )


def _lightgbm(spec: FeatureSpec, seed: int, n_rows: int) -> LGBMClassifier:
    """LightGBM set up like the scikit-learn bag member: same rate, leaves, feature sampling."""
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=150 if n_rows < SMALL_DATA else 500,
        learning_rate=0.05 if n_rows < LARGE_DATA else 0.1,
        num_leaves=31,
        min_child_samples=max(5, min(20, n_rows // 50)),
        feature_fraction_bynode=0.8,
        cat_smooth=10.0,
        random_state=seed,
        deterministic=True,
        force_col_wise=True,
        n_jobs=1 if n_rows < PARALLEL_FROM else -1,
        verbose=-1,
    )


def _fit_lightgbm(X: np.ndarray, y: np.ndarray, spec: FeatureSpec, seed: int) -> Members:
    """A bag of LightGBM models, each early-stopped on its own stratified 10% split."""
    import lightgbm

    cat = [j for j, d in enumerate(spec.design) if d.kind == "cat"]
    members: Members = []
    for i in range(bag_size(len(y))):
        model = _lightgbm(spec, seed + i, len(y))
        if len(y) < SMALL_DATA:
            members.append(model.fit(X, y, categorical_feature=cat))
            continue
        fit, valid = train_test_split(
            np.arange(len(y)), test_size=0.1, stratify=y, random_state=seed + i
        )
        model.fit(
            X[fit],
            y[fit],
            eval_X=X[valid],
            eval_y=y[valid],
            categorical_feature=cat,
            callbacks=[lightgbm.early_stopping(10, verbose=False)],
        )
        members.append(model)
    return members


def fit_family(
    family: str, X: np.ndarray, y: np.ndarray, spec: FeatureSpec, seed: int, *, use_lightgbm: bool
) -> Members:
    """Fit one model family ("logistic" or "gbm") and return its fitted members."""
    with thread_limit(len(y)):
        return _fit_family(family, X, y, spec, seed, use_lightgbm=use_lightgbm)


def _fit_family(
    family: str, X: np.ndarray, y: np.ndarray, spec: FeatureSpec, seed: int, *, use_lightgbm: bool
) -> Members:
    if family == "logistic":
        return [make_logistic(spec).fit(X, y)]
    if use_lightgbm:
        return _fit_lightgbm(X, y, spec, seed)
    empty = np.all(np.isnan(X), axis=0)
    if empty.any():  # sklearn cannot bin a column with no values; a constant is never split
        X = X.copy()
        X[:, empty] = 0.0
    return [_hgb(spec, seed + i, len(y)).fit(X, y) for i in range(bag_size(len(y)))]


def family_logit(members: Members, X: np.ndarray) -> np.ndarray:
    """The family's log-odds: the mean of its members' raw scores."""
    scores = []
    with thread_limit(len(X)):
        for m in members:
            if type(m).__name__ == "LGBMClassifier":
                raw = m.predict(X, raw_score=True)
            else:
                raw = m.decision_function(X)
            scores.append(np.asarray(raw, dtype=np.float64))
    mean: np.ndarray = np.mean(scores, axis=0)
    return mean


def model_logit(model: FittedModel, X: np.ndarray) -> np.ndarray:
    """A fitted model's log-odds: the mean over its families (one family, or both = blend)."""
    mean: np.ndarray = np.mean([family_logit(members, X) for members in model.values()], axis=0)
    return mean


CANDIDATES = {"logistic": ("logistic",), "gbm": ("gbm",), "blend": ("logistic", "gbm")}
