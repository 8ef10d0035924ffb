"""Monitoring as outcomes arrive (issue 16): the realised figures of a model over windows of
outcome time, from (probability or band, outcome, outcome time) rows. Pure: the service reads
the rows (store/monitoring.py) and stores what this returns.

Windows, by the outcome's time (UTC), each holding the outcomes in it:
- `last_30_days` and `last_90_days`: the outcomes in (now − N days, now];
- one per calendar month (`2026-11`) that holds an outcome, newest first, at most
  `MONTHS` of them (the older ones are summed up in the 90-day and earlier months only).

The decay flag compares the most recent rolling window with enough outcomes (30 days, else
90 days: at least `MIN_OUTCOMES` outcomes and `MIN_CLASS` of each class) with the model card's
cross-validated ROC AUC: flagged when the realised AUC is lower by more than `DECAY_MARGIN`
*and* by more than twice its standard error (Hanley & McNeil, 1982), so that the noise of a
window of a few hundred outcomes (±0.05 with 20 conversions) does not raise it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

DAY = 86_400_000_000
ROLLING = (30, 90)
MONTHS = 24
DECAY_MARGIN = 0.05
MIN_OUTCOMES = 100
MIN_CLASS = 10


@dataclass(frozen=True, slots=True)
class Window:
    """A span of outcome time, [start, end) in epoch µs."""

    name: str
    start: int
    end: int


def month_of(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1_000_000, UTC).strftime("%Y-%m")


def _month_span(name: str) -> tuple[int, int]:
    year, month = (int(part) for part in name.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp()) * 1_000_000, int(end.timestamp()) * 1_000_000


def windows(times: Sequence[int] | np.ndarray, now: int) -> list[Window]:
    """The rolling windows ending at `now`, then the calendar months of `times` (newest
    first, at most `MONTHS`, none after `now`)."""
    out = [Window(f"last_{days}_days", now - days * DAY + 1, now + 1) for days in ROLLING]
    months = sorted({month_of(int(t)) for t in times if t <= now}, reverse=True)[:MONTHS]
    out.extend(Window(name, *_month_span(name)) for name in months)
    return out


def _bounds(window: Window) -> dict[str, Any]:
    return {"window": window.name, "start": window.start, "end": window.end}


def probability_figures(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """n, conversions, conversion rate, realised ROC AUC (None with one class), expected
    calibration error, Brier score and conversion by decile of probability (decile 1: the
    tenth with the highest probabilities)."""
    from sklearn.metrics import roc_auc_score

    from leadscore.ml.metrics import expected_calibration_error, lift_table

    n = int(len(y))
    if n == 0:
        return {
            "n": 0,
            "conversions": 0,
            "conversion_rate": None,
            "mean_probability": None,
            "roc_auc": None,
            "calibration_error": None,
            "brier": None,
            "deciles": [],
        }
    conversions = int(y.sum())
    two_classes = 0 < conversions < n
    best_first = np.sort(p)[::-1]  # the order of lift_table's groups
    deciles, seen = [], 0
    for row in lift_table(y, p):
        deciles.append(
            {
                "decile": row["decile"],
                "count": row["count"],
                "min_probability": row["min_probability"],
                "mean_probability": float(best_first[seen : seen + row["count"]].mean()),
                "conversions": row["conversions"],
                "conversion_rate": row["conversion_rate"],
            }
        )
        seen += row["count"]
    return {
        "n": n,
        "conversions": conversions,
        "conversion_rate": conversions / n,
        "mean_probability": float(p.mean()),
        "roc_auc": float(roc_auc_score(y, p)) if two_classes else None,
        "calibration_error": expected_calibration_error(y, p),
        "brier": float(np.mean((p - y) ** 2)),
        "deciles": deciles,
    }


def predictive_windows(
    probability: Sequence[float] | np.ndarray,
    converted: Sequence[bool] | np.ndarray,
    at: Sequence[int] | np.ndarray,
    now: int,
) -> list[dict[str, Any]]:
    """Per window (`windows`), `probability_figures` of the rows whose outcome falls in it."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(converted, dtype=np.float64)
    t = np.asarray(at, dtype=np.int64)
    out = []
    for window in windows(t, now):
        inside = (t >= window.start) & (t < window.end)
        out.append({**_bounds(window), **probability_figures(y[inside], p[inside])})
    return out


def decay(
    figures: Sequence[dict[str, Any]],
    card_auc: float | None,
    *,
    margin: float = DECAY_MARGIN,
    min_outcomes: int = MIN_OUTCOMES,
    min_class: int = MIN_CLASS,
) -> dict[str, Any]:
    """Whether the model has decayed: the first rolling window (30, then 90 days) with
    `min_outcomes` outcomes and `min_class` of each class, compared with the card's AUC."""
    base = {"card_roc_auc": card_auc, "margin": margin, "min_outcomes": min_outcomes}
    chosen = None
    for w in figures:
        if not w["window"].startswith("last_"):
            continue
        n, k = w["n"], w["conversions"]
        if n >= min_outcomes and min(k, n - k) >= min_class and w["roc_auc"] is not None:
            chosen = w
            break
    if chosen is None:
        return {
            **base,
            "flagged": False,
            "window": None,
            "realised_roc_auc": None,
            "standard_error": None,
            "reason": f"too few outcomes: no rolling window has {min_outcomes} outcomes with "
            f"{min_class} of each class",
        }
    realised = chosen["roc_auc"]
    if card_auc is None:
        return {
            **base,
            "flagged": False,
            "window": chosen["window"],
            "realised_roc_auc": realised,
            "standard_error": None,
            "reason": "the model card has no cross-validated ROC AUC to compare with",
        }
    drop = card_auc - realised
    error = auc_standard_error(realised, chosen["conversions"], chosen["n"] - chosen["conversions"])
    flagged = drop > margin and drop > 2 * error
    said = f"realised ROC AUC {realised:.3f} ± {error:.3f} over {chosen['window']} "
    said += f"({chosen['n']} outcomes)"
    if flagged:
        reason = f"{said} is {drop:.3f} below the card's {card_auc:.3f}"
    elif drop <= margin:
        reason = f"{said} is within {margin} of the card's {card_auc:.3f}"
    else:
        reason = f"{said} is {drop:.3f} below the card's {card_auc:.3f}, within twice its error"
    return {
        **base,
        "flagged": flagged,
        "window": chosen["window"],
        "realised_roc_auc": realised,
        "standard_error": error,
        "reason": reason,
    }


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """The standard error of a ROC AUC from `positives` and `negatives` (Hanley & McNeil)."""
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    return float(np.sqrt(max(variance, 0.0)))


def band_figures(bands: Sequence[str | None], converted: np.ndarray) -> list[dict[str, Any]]:
    """Per band (tier; None: no tier), n, conversions and conversion rate, by band name."""
    out = []
    names = sorted({b for b in bands if b is not None})
    for band in [*names, None] if None in bands else names:
        inside = np.array([b == band for b in bands], dtype=bool)
        n = int(inside.sum())
        k = int(converted[inside].sum())
        out.append({"band": band, "n": n, "conversions": k, "conversion_rate": k / n})
    return out


def rule_windows(
    bands: Sequence[str | None],
    converted: Sequence[bool] | np.ndarray,
    at: Sequence[int] | np.ndarray,
    now: int,
) -> list[dict[str, Any]]:
    """Per window (`windows`), the outcomes by the band the lead was in before its outcome."""
    y = np.asarray(converted, dtype=np.float64)
    t = np.asarray(at, dtype=np.int64)
    out = []
    for window in windows(t, now):
        inside = (t >= window.start) & (t < window.end)
        chosen = [b for b, keep in zip(bands, inside, strict=True) if keep]
        n, k = int(inside.sum()), int(y[inside].sum())
        out.append(
            {
                **_bounds(window),
                "n": n,
                "conversions": k,
                "conversion_rate": k / n if n else None,
                "bands": band_figures(chosen, y[inside]),
            }
        )
    return out
