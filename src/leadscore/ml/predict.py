"""Scoring new leads with a model folder, and measuring it on new labelled leads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from leadscore.ml import calibrate, drift, explain, metrics
from leadscore.ml import target as tgt
from leadscore.ml.errors import MLInputError
from leadscore.ml.estimators import FittedModel, model_logit
from leadscore.ml.features import FeatureSpec, check_columns, transform


def probabilities(
    model: FittedModel,
    meta: dict[str, Any],
    spec: FeatureSpec,
    frame: pl.DataFrame,
    *,
    as_of: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix and calibrated probabilities for every row, in input order."""
    X = transform(frame, spec, as_of=as_of)
    z = model_logit(model, X)
    return X, calibrate.apply(meta["calibration"], z)


def score_table(
    model: FittedModel,
    meta: dict[str, Any],
    spec: FeatureSpec,
    frame: pl.DataFrame,
    *,
    source: str,
    id_column: str | None,
    as_of: float | None,
    with_reasons: bool = True,
) -> pl.DataFrame:
    """One output row per input row: id, probability, score (0-100), reasons."""
    check_columns(frame, spec, source)
    if id_column is not None and id_column not in frame.columns:
        raise MLInputError(f"{source}: id column {id_column!r} not found")
    X, p = probabilities(model, meta, spec, frame, as_of=as_of)
    out = {}
    if id_column is not None:
        out[id_column] = frame[id_column]
    out["probability"] = pl.Series(np.round(p, 6))
    out["score"] = pl.Series(np.floor(100 * p + 0.5).astype(np.int64))
    if with_reasons:
        contrib = explain.contributions(model, X, spec, meta["explain"])
        phrases = explain.describe_values(frame, X, spec)
        out["reasons"] = pl.Series(explain.reasons(contrib, phrases), dtype=pl.String)
    return pl.DataFrame(out)


def drift_report(
    meta: dict[str, Any], spec: FeatureSpec, frame: pl.DataFrame, *, as_of: float | None, where: str
) -> dict[str, Any]:
    """The drift report of `frame` against the model's training profile (`ml.drift`), on the
    design matrix `score_table` scores; `drift.NoProfileError` for a model without one."""
    profile = drift.profile_of(meta, where)
    return drift.report(profile, spec, frame, transform(frame, spec, as_of=as_of))


def evaluate_table(
    model: FittedModel,
    meta: dict[str, Any],
    spec: FeatureSpec,
    frame: pl.DataFrame,
    *,
    source: str,
    target: str,
    as_of: float | None,
) -> dict[str, Any]:
    """The card's metrics on new labelled data."""
    if target not in frame.columns:
        raise MLInputError(f"{source}: target column {target!r} not found")
    y = tgt.encode(frame[target], meta["positive_value"])
    keep = ~np.isnan(y)
    if not keep.any():
        raise MLInputError(f"{source}: target column {target!r} has no values")
    frame, y = frame.filter(pl.Series(keep)), y[keep].astype(np.int64)
    check_columns(frame, spec, source)
    _, p = probabilities(model, meta, spec, frame, as_of=as_of)
    report = metrics.full_report(y, p)
    report["rows_without_target"] = int((~keep).sum())
    return report


def write_table(table: pl.DataFrame, path: Path) -> None:
    """Write scores as CSV (default), JSON Lines or Parquet, by extension."""
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            table.write_parquet(path)
        elif name.endswith((".jsonl", ".ndjson")):
            table.write_ndjson(path)
        else:
            table.write_csv(path)
    except OSError as exc:
        raise MLInputError(f"{path}: cannot write ({exc.strerror or exc})") from None
