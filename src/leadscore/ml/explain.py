"""Why a lead got its probability: per-feature contributions in log-odds, and their wording.

Contributions are measured against the average lead, in log-odds (calibration is monotone, so
a push up in log-odds is a push up in probability):

* logistic regression: exact, coefficient x (transformed value - its training mean), summed
  over the columns a raw feature expands to (one-hot levels, missing indicator);
* LightGBM: exact TreeSHAP values from `pred_contrib`, summed the same way;
* scikit-learn gradient boosting: one-feature-at-a-time replacement. The feature's own value is
  swapped for a handful of representative training values (its quantiles or most frequent
  categories, and missing, weighted by how common each is) and the contribution is the
  model's log-odds minus the weighted mean log-odds over those swaps. For a model that is
  additive in its features this equals the exact contribution; it costs about six predictions
  per feature and lead, and needs no extra library.
* blend: the mean of the two families' contributions (the blend averages their log-odds).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import polars as pl

from leadscore.ml import columns as col
from leadscore.ml.estimators import FittedModel, Members, family_logit
from leadscore.ml.features import FeatureSpec

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

REPRESENTATIVES = 5
MIN_EFFECT = 0.05
TOP = 3
CHUNK_ROWS = 20000


class Representatives(TypedDict):
    """A raw feature's representative design rows (None = missing) and their weights."""

    rows: list[list[float | None]]
    weights: list[float]


def _unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique over rows, with NaN counted as one value (NaN != NaN would split them)."""
    filled = np.where(np.isnan(a), np.inf, a)
    uniq, counts = np.unique(filled, axis=0, return_counts=True)
    return np.where(np.isinf(uniq), np.nan, uniq), counts


def _weighted_rows(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Up to ~7 representative rows of one feature's design columns, with weights."""
    missing = np.isnan(block[:, 0])
    present = block[~missing]
    rows: list[np.ndarray] = []
    weights: list[int] = []
    if len(present):
        uniq, counts = _unique_rows(present)
        if len(uniq) <= REPRESENTATIVES + 1:
            rows.extend(uniq)
            weights.extend(counts)
        else:
            order = np.argsort(present[:, 0], kind="stable")
            for chunk in np.array_split(order, REPRESENTATIVES):
                rows.append(present[chunk[len(chunk) // 2]])
                weights.append(len(chunk))
    if missing.any():
        miss_rows, miss_counts = _unique_rows(block[missing])
        rows.extend(miss_rows)
        weights.extend(miss_counts)
    w = np.asarray(weights, dtype=np.float64)
    return np.asarray(rows, dtype=np.float64), w / w.sum()


def _weighted_categories(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The most frequent categories (and missing) of a categorical feature, with weights."""
    codes = np.where(np.isnan(block[:, 0]), -1.0, block[:, 0])
    uniq, counts = np.unique(codes, return_counts=True)
    top = np.argsort(-counts, kind="stable")[: REPRESENTATIVES + 1]
    rows = np.where(uniq[top] < 0, np.nan, uniq[top]).reshape(-1, 1)
    w = counts[top].astype(np.float64)
    return rows, w / w.sum()


def fit_background(X: np.ndarray, spec: FeatureSpec) -> dict[str, Representatives]:
    """Representative values per raw feature, stored with the model (JSON-safe)."""
    background: dict[str, Representatives] = {}
    for name, idx in spec.blocks().items():
        block = X[:, idx]
        if len(idx) == 1 and spec.design[idx[0]].kind == "cat":
            rows, w = _weighted_categories(block)
        else:
            rows, w = _weighted_rows(block)
        background[name] = {
            "rows": [[None if np.isnan(v) else float(v) for v in r] for r in rows],
            "weights": w.tolist(),
        }
    return background


def _occlusion(
    members: Members, X: np.ndarray, spec: FeatureSpec, background: dict[str, Representatives]
) -> np.ndarray:
    blocks = spec.blocks()
    names = [f.name for f in spec.features]
    out = np.zeros((len(X), len(names)))
    for start in range(0, len(X), CHUNK_ROWS):
        part = X[start : start + CHUNK_ROWS]
        base = family_logit(members, part)
        for k, name in enumerate(names):
            idx = blocks[name]
            rows = np.array(background[name]["rows"], dtype=np.float64)
            weights = np.asarray(background[name]["weights"])
            stacked = np.repeat(part[None, :, :], len(rows), axis=0)
            stacked[:, :, idx] = rows[:, None, :]
            swapped = family_logit(members, stacked.reshape(-1, part.shape[1]))
            expected = weights @ swapped.reshape(len(rows), len(part))
            out[start : start + len(part), k] = base - expected
    return out


def _group(values: np.ndarray, sources: list[str], spec: FeatureSpec) -> np.ndarray:
    names = [f.name for f in spec.features]
    position = {n: k for k, n in enumerate(names)}
    out = np.zeros((values.shape[0], len(names)))
    for j, source in enumerate(sources):
        out[:, position[source]] += values[:, j]
    return out


def _linear(pipeline: Pipeline, X: np.ndarray, spec: FeatureSpec, centre: np.ndarray) -> np.ndarray:
    prep, model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    Z = np.asarray(prep.transform(X), dtype=np.float64)
    values = model.coef_[0] * (Z - centre)
    return _group(values, linear_sources(pipeline, spec), spec)


def linear_sources(pipeline: Pipeline, spec: FeatureSpec) -> list[str]:
    """The raw feature behind each column the logistic regression sees."""
    names = [f"c{j}c" for j in range(len(spec.design))]
    out = []
    for name in pipeline.named_steps["prep"].get_feature_names_out(names):
        match = re.search(r"c(\d+)c", name.split("__", 1)[1])
        assert match is not None  # every input column was named c{j}c above
        out.append(spec.design[int(match.group(1))].source)
    return out


def linear_centre(pipeline: Pipeline, X: np.ndarray) -> list[float]:
    """Training means of the logistic regression's inputs (the 'average lead')."""
    Z = np.asarray(pipeline.named_steps["prep"].transform(X), dtype=np.float64)
    centre: list[float] = Z.mean(axis=0).tolist()
    return centre


def _lightgbm(members: Members, X: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    values: np.ndarray = np.mean(
        [np.asarray(m.predict(X, pred_contrib=True))[:, :-1] for m in members], axis=0
    )
    return _group(values, [d.source for d in spec.design], spec)


def contributions(
    model: FittedModel, X: np.ndarray, spec: FeatureSpec, explain_data: dict[str, Any]
) -> np.ndarray:
    """(rows x raw features) contributions in log-odds, averaged over the model's families."""
    parts = []
    for family, members in model.items():
        if family == "logistic":
            centre = np.asarray(explain_data["linear_centre"], dtype=np.float64)
            parts.append(_linear(members[0], X, spec, centre))
        elif type(members[0]).__name__ == "LGBMClassifier":
            parts.append(_lightgbm(members, X, spec))
        else:
            parts.append(_occlusion(members, X, spec, explain_data["background"]))
    mean: np.ndarray = np.mean(parts, axis=0)
    return mean


def _fmt_number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _level(value: float, q: list[float]) -> str:
    if not q:
        return ""
    p10, p25, _, p75, p90 = q
    if value >= p90 and p90 > p75:
        return "very high"
    if value > p75:
        return "high"
    if value <= p10 and p10 < p25:
        return "very low"
    if value < p25:
        return "low"
    return "typical"


def describe_values(frame: pl.DataFrame, X: np.ndarray, spec: FeatureSpec) -> list[list[str]]:
    """Per raw feature, a short phrase for each row's value ("Lead Source = Reference")."""
    blocks = spec.blocks()
    phrases = []
    for f in spec.features:
        idx = blocks[f.name]
        if f.name not in frame.columns:
            phrases.append([f"{f.name} not given"] * frame.height)
            continue
        if f.kind in ("categorical", "boolean"):
            text = col.clean_text(frame[f.name]).to_list()
            phrases.append(
                [f"{f.name} = {t}" if t is not None else f"{f.name} missing" for t in text]
            )
        elif f.kind == "numeric":
            values = X[:, idx[0]]
            hit = X[:, idx[1]] == 1 if len(idx) > 1 else np.zeros(len(values), dtype=bool)
            out = []
            for v, s in zip(values, hit, strict=True):
                if s:
                    assert f.sentinel is not None  # a sentinel flag column implies a sentinel
                    out.append(f"{f.name} = {_fmt_number(f.sentinel)} (none/never)")
                elif np.isnan(v):
                    out.append(f"{f.name} missing")
                else:
                    level = _level(v, f.quantiles)
                    shown = _fmt_number(v)
                    out.append(
                        f"{f.name} = {shown}"
                        if level == "typical"
                        else f"{f.name} {level} ({shown})"
                    )
            phrases.append(out)
        else:
            days = X[:, idx[0]] if "days_ago" in f.parts else None
            text = col.clean_text(frame[f.name]).to_list()
            out = []
            for i, t in enumerate(text):
                if t is None:
                    out.append(f"{f.name} missing")
                elif days is not None and not np.isnan(days[i]):
                    out.append(f"{f.name} {_fmt_number(round(days[i]))} days ago")
                else:
                    out.append(f"{f.name} = {t}")
            phrases.append(out)
    return phrases


def reason_lists(contrib: np.ndarray, phrases: list[list[str]]) -> list[list[str]]:
    """Per row: up to three features pushing up ('+ A'), then up to three pushing down."""
    out = []
    for i in range(contrib.shape[0]):
        row = contrib[i]
        order = np.argsort(-np.abs(row), kind="stable")
        ups = [k for k in order if row[k] >= MIN_EFFECT][:TOP]
        downs = [k for k in order if row[k] <= -MIN_EFFECT][:TOP]
        out.append([f"+ {phrases[k][i]}" for k in ups] + [f"\u2212 {phrases[k][i]}" for k in downs])
    return out


def reasons(contrib: np.ndarray, phrases: list[list[str]]) -> list[str]:
    """'+ A; + B; − C': up to three features pushing up, then up to three pushing down."""
    return ["; ".join(items) for items in reason_lists(contrib, phrases)]


def importance(contrib: np.ndarray, spec: FeatureSpec) -> list[dict[str, str | float]]:
    """Mean absolute contribution per feature, largest first (what drives the score)."""
    mean_abs = np.abs(contrib).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")
    return [
        {"feature": spec.features[k].name, "mean_abs_log_odds": round(float(mean_abs[k]), 4)}
        for k in order
    ]
