"""The leakage guard: columns that look like they were written after the outcome was known.

Two statistical signs, both measured out of fold with a one-feature model (the conversion rate
of each value or value range, shrunk towards the overall rate):

* the feature alone ranks leads almost perfectly: single-feature ROC AUC >= 0.95;
* the feature is *two-sided decisive*: it puts at least 2% of the leads into groups whose odds
  of converting are 10 times the overall odds or more, AND at least 2% into groups whose odds
  are a tenth or less. (Group rates are shrunk towards the overall rate by 5 pseudo-leads, so
  a handful of leads cannot make a group look decisive.) An attribute known before the first
  contact usually moves the odds one way for some leads (a referral converts far more often);
  a status written by sales ("closed", "lost to a competitor", "worst") sorts many leads into
  near-certain wins and near-certain losses at once.

With a time column there is a third, direct sign: a date column later than the row's time.
The guard warns and names the columns; `--exclude` removes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from leadscore.ml.features import FeatureSpec

AUC_LIMIT = 0.95
ODDS_FACTOR = 10.0
MIN_SHARE = 0.02
LATE_SHARE = 0.05
BINS = 20
PRIOR_ROWS = 5.0


@dataclass
class LeakWarning:
    """One suspicious column and the evidence, in words."""

    column: str
    reason: str
    single_auc: float | None = None

    def to_dict(self) -> dict[str, str | float | None]:
        return {"column": self.column, "reason": self.reason, "single_feature_auc": self.single_auc}


def _bin_codes(X: np.ndarray, spec: FeatureSpec, indices: list[int]) -> np.ndarray:
    """One integer group per row for a raw feature: its value range or category, or missing."""
    first = indices[0]
    kind = spec.design[first].kind
    values = X[:, first]
    codes = np.full(values.shape, -1, dtype=np.int64)
    present = ~np.isnan(values)
    if kind == "cat" or np.unique(values[present]).size <= BINS:
        codes[present] = np.unique(values[present], return_inverse=True)[1]
    elif present.any():
        edges = np.unique(np.quantile(values[present], np.linspace(0, 1, BINS + 1))[1:-1])
        codes[present] = np.searchsorted(edges, values[present], side="right")
    for extra in indices[1:]:
        if spec.design[extra].part == "sentinel":
            codes[X[:, extra] == 1] = -2
    return codes


def _out_of_fold_rates(
    codes: np.ndarray, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group conversion rate learnt on the other folds, and the fold's base rate."""
    rate = np.full(y.shape, np.nan)
    base = np.full(y.shape, np.nan)
    shift = codes.min()
    for train, test in splits:
        c = codes[train] - shift
        size = max(int(c.max()), int((codes[test] - shift).max())) + 1
        n = np.bincount(c, minlength=size).astype(float)
        pos = np.bincount(c, weights=y[train], minlength=size)
        prior = y[train].mean()
        smoothed = (pos + PRIOR_ROWS * prior) / (n + PRIOR_ROWS)
        rate[test] = smoothed[codes[test] - shift]
        base[test] = prior
    return rate, base


def single_feature_scan(
    X: np.ndarray, y: np.ndarray, spec: FeatureSpec, splits: list[tuple[np.ndarray, np.ndarray]]
) -> dict[str, dict[str, float]]:
    """Per raw feature: single-feature AUC and the shares of decisively high and low odds."""
    out: dict[str, dict[str, float]] = {}
    for name, indices in spec.blocks().items():
        if not indices or name == spec.time_column:
            continue
        codes = _bin_codes(X, spec, indices)
        rate, base = _out_of_fold_rates(codes, y, splits)
        scored = ~np.isnan(rate)
        r, b, t = rate[scored], base[scored], y[scored]
        auc = roc_auc_score(t, r) if 0 < t.mean() < 1 else 0.5
        odds_ratio = (r / (1 - r)) / (b / (1 - b))
        out[name] = {
            "auc": float(auc),
            "share_high": float(np.mean(odds_ratio >= ODDS_FACTOR)),
            "share_low": float(np.mean(odds_ratio <= 1 / ODDS_FACTOR)),
            # the largest factor F with >= 2% of rows at odds xF and >= 2% at odds /F
            "two_sided_factor": float(
                min(np.quantile(odds_ratio, 1 - MIN_SHARE), 1 / np.quantile(odds_ratio, MIN_SHARE))
            ),
        }
    return out


def late_dates(frame_times: dict[str, np.ndarray], row_time: np.ndarray) -> dict[str, float]:
    """Share of rows where each date column is later than the row's own time."""
    out = {}
    for name, seconds in frame_times.items():
        both = ~np.isnan(seconds) & ~np.isnan(row_time)
        if both.any():
            out[name] = float(np.mean(seconds[both] > row_time[both] + 1.0))
    return out


def find_leaks(
    scan: dict[str, dict[str, float]], late: dict[str, float], time_column: str | None
) -> list[LeakWarning]:
    """The warnings the scan justifies, strongest first."""
    warnings: list[LeakWarning] = []
    for name, s in sorted(scan.items(), key=lambda kv: -kv[1]["auc"]):
        auc = round(s["auc"], 3)
        if s["auc"] >= AUC_LIMIT:
            warnings.append(
                LeakWarning(
                    name,
                    f"on its own it predicts the outcome almost perfectly (ROC AUC {auc:.3f})",
                    auc,
                )
            )
        elif s["share_high"] >= MIN_SHARE and s["share_low"] >= MIN_SHARE:
            warnings.append(
                LeakWarning(
                    name,
                    f"its values alone make {s['share_high']:.0%} of leads near-certain wins and "
                    f"{s['share_low']:.0%} near-certain losses (odds x{ODDS_FACTOR:g} and "
                    f"/{ODDS_FACTOR:g}; ROC AUC {auc:.3f}): typical of a status written after "
                    "the outcome",
                    auc,
                )
            )
    for name, share in late.items():
        if share >= LATE_SHARE:
            warnings.append(
                LeakWarning(
                    name,
                    f"later than the row's time ({time_column}) in {share:.0%} of rows: "
                    "recorded after the lead's time",
                )
            )
    return warnings
