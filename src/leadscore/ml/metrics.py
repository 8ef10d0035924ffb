"""The figures on the model card: ranking quality, probability quality, and lift by decile."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Leads grouped by predicted probability (0-10%, 10-20%, ...): predicted vs observed."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        rows.append(
            {
                "bin": f"{edges[b]:.0%}-{edges[b + 1]:.0%}",
                "count": n,
                "predicted": float(p[inside].mean()) if n else None,
                "observed": float(y[inside].mean()) if n else None,
            }
        )
    return rows


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Average gap between predicted and observed rates, weighted by bin size."""
    table = calibration_table(y, p, bins)
    n = len(y)
    return float(
        sum(r["count"] / n * abs(r["predicted"] - r["observed"]) for r in table if r["count"])
    )


def lift_table(y: np.ndarray, p: np.ndarray, groups: int = 10) -> list[dict[str, Any]]:
    """Leads sorted best first and cut into ten equal groups: conversion, lift, share captured."""
    order = np.argsort(-p, kind="stable")
    base = y.mean()
    total_pos = y.sum()
    rows = []
    seen = positives = 0
    for d, chunk in enumerate(np.array_split(order, groups), start=1):
        if len(chunk) == 0:
            continue
        pos = int(y[chunk].sum())
        seen += len(chunk)
        positives += pos
        rate = pos / len(chunk)
        rows.append(
            {
                "decile": d,
                "count": int(len(chunk)),
                "min_probability": float(p[chunk].min()),
                "conversions": pos,
                "conversion_rate": float(rate),
                "lift": float(rate / base) if base > 0 else None,
                "cumulative_share_of_conversions": float(positives / total_pos)
                if total_pos
                else None,
                "cumulative_lift": float((positives / seen) / base) if base > 0 else None,
            }
        )
    return rows


def summary(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """ROC AUC, PR AUC, Brier score, log loss, calibration error, with the base rate."""
    two_classes = 0 < y.mean() < 1
    return {
        "rows": int(len(y)),
        "positive_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, p)) if two_classes else None,
        "pr_auc": float(average_precision_score(y, p)) if two_classes else None,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "calibration_error": expected_calibration_error(y, p),
    }


def full_report(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Summary figures plus the calibration and lift tables."""
    return {
        **summary(y, p),
        "calibration": calibration_table(y, p),
        "lift": lift_table(y, p),
    }
