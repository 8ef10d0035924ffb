"""How well scores separate converted from lost leads: ROC AUC and conversion by band.

Bands are fixed where the score has a fixed range (0–10 … 90–100 for a weighted total,
0–0.1 … 0.9–1 for a probability) and deciles of the scores otherwise (a `sum` model has no
fixed range); tied scores stay in one band, so quantile bands can be fewer than ten.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score


@dataclass(frozen=True)
class Band:
    label: str
    low: float
    high: float
    count: int
    conversions: int

    @property
    def rate(self) -> float | None:
        return self.conversions / self.count if self.count else None

    def to_dict(self) -> dict[str, str | float | None]:
        return {
            "band": self.label,
            "low": self.low,
            "high": self.high,
            "count": self.count,
            "conversions": self.conversions,
            "rate": None if self.rate is None else round(self.rate, 6),
        }


def auc(y: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC; 0.5 for scores that are all equal."""
    return float(roc_auc_score(y, scores))


def fixed_bands(scores: np.ndarray, y: np.ndarray, top: float) -> list[Band]:
    """Ten equal bands over [0, top]; the last includes `top`, the first anything below 0."""
    width = top / 10
    index = np.clip(np.floor(np.round(scores / width, 9)), 0, 9).astype(int)
    bands = []
    for i in range(10):
        mask = index == i
        low, high = _short(i * width), _short((i + 1) * width)
        bands.append(
            Band(f"{low}–{high}", i * width, (i + 1) * width, int(mask.sum()), int(y[mask].sum()))
        )
    return bands


def quantile_bands(scores: np.ndarray, y: np.ndarray, n: int = 10) -> list[Band]:
    """Up to n bands holding about equal numbers of leads, lowest scores first."""
    if scores.size == 0:
        return []
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, n + 1)[1:-1], method="lower"))
    index = np.searchsorted(edges, scores, side="right")
    bands = []
    for i in range(len(edges) + 1):
        mask = index == i
        if not mask.any():
            continue
        low, high = float(scores[mask].min()), float(scores[mask].max())
        label = f"{_short(low)}–{_short(high)}" if low != high else _short(low)
        bands.append(Band(label, low, high, int(mask.sum()), int(y[mask].sum())))
    return bands


def bands_for(scores: np.ndarray, y: np.ndarray, scale: str) -> list[Band]:
    """scale: `percent` (0–100), `probability` (0–1) or `quantile`."""
    if scale == "percent":
        return fixed_bands(scores, y, 100.0)
    if scale == "probability":
        return fixed_bands(scores, y, 1.0)
    return quantile_bands(scores, y)


def _short(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
