"""MQL and SQL thresholds from the rescored history.

Candidates are round numbers (whole points on a 0–100 weighted score; a "nice" step over the
range of a sum score). With a target precision P, MQL is the lowest candidate whose leads at
or above it convert at a rate ≥ P, and SQL the lowest (not below MQL) whose rate is
≥ `sql_precision(P)`. With a sales capacity of N new SQLs a week, SQL is also at least the
lowest candidate whose leads at or above it, per week of history, are ≤ N. Without a target,
P defaults to twice the base conversion rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Threshold:
    stage: str
    """mql or sql."""
    value: float | None
    """None when no candidate meets the rule (the file keeps its old value)."""
    rule: str
    """How it was chosen, for people."""
    precision: float | None = None
    """Conversion rate of the decided leads at or above it."""
    count: int = 0
    """Decided leads at or above it."""
    per_week: float | None = None
    """Leads whose peak score reached it, per week of history (with --capacity)."""


def sql_precision(p: float) -> float:
    """The SQL target for an MQL target p: max(2p, p + 0.2), but at most halfway to 1."""
    return min(max(2 * p, p + 0.2), (1 + p) / 2)


def default_precision(base_rate: float) -> float:
    """Twice the base rate, at most halfway to 1."""
    return min(2 * base_rate, (1 + base_rate) / 2)


def candidates(scores: np.ndarray, weighted: bool) -> np.ndarray:
    """Round thresholds spanning the observed scores."""
    if weighted:
        return np.arange(0.0, 101.0)
    low, high = float(np.min(scores)), float(np.max(scores))
    step = _nice(max(high - low, 1e-9) / 200)
    first = math.floor(low / step) * step
    count = int(math.ceil((high - first) / step)) + 1
    return np.round(first + step * np.arange(count), 6)


def _nice(value: float) -> float:
    """The smallest of 1, 2, 5 × 10^k that is ≥ value (at least 0.01)."""
    exponent = math.floor(math.log10(value))
    for mantissa in (1, 2, 5, 10):
        step = mantissa * 10.0**exponent
        if step >= value * (1 - 1e-9):
            return max(0.01, round(step, 6))
    raise AssertionError("unreachable")  # pragma: no cover


def at_or_above(scores: np.ndarray, y: np.ndarray, t: float) -> tuple[int, float | None]:
    """(leads at or above t, their conversion rate)."""
    mask = scores >= t
    count = int(mask.sum())
    return count, (float(y[mask].mean()) if count else None)


def by_precision(
    scores: np.ndarray, y: np.ndarray, target: float, grid: np.ndarray, floor: float | None
) -> float | None:
    """The lowest candidate (≥ floor) whose leads at or above it convert at ≥ target."""
    for t in grid:
        if floor is not None and t < floor:
            continue
        count, rate = at_or_above(scores, y, t)
        if count and rate is not None and rate >= target - 1e-12:
            return float(t)
    return None


def by_capacity(
    peaks: np.ndarray, weeks: float, capacity: float, grid: np.ndarray, floor: float | None
) -> float | None:
    """The lowest candidate (≥ floor) reached by at most `capacity` leads a week."""
    for t in grid:
        if floor is not None and t < floor:
            continue
        if np.sum(peaks >= t) / weeks <= capacity:
            return float(t)
    return None


def choose(
    scores: np.ndarray,
    y: np.ndarray,
    *,
    weighted: bool,
    target_precision: float | None,
    capacity: float | None,
    peaks: np.ndarray | None = None,
    weeks: float = 1.0,
) -> tuple[Threshold, Threshold]:
    """(MQL, SQL) for the decided leads' `scores` and outcomes `y`."""
    grid = candidates(scores, weighted)
    base = float(y.mean())
    if target_precision is None:
        p = default_precision(base)
        origin = f"default: twice the base rate {base:.1%}"
    else:
        p, origin = target_precision, "--target-precision"
    mql_value = by_precision(scores, y, p, grid, None)
    mql = _describe("mql", mql_value, f"lowest with conversion ≥ {p:.1%} ({origin})", scores, y)
    q = sql_precision(p)
    sql_value = None
    rules = []
    if target_precision is not None or capacity is None:
        sql_value = by_precision(scores, y, q, grid, mql_value)
        rules.append(f"lowest ≥ MQL with conversion ≥ {q:.1%}")
    if capacity is not None and peaks is not None:
        floor = max(v for v in (mql_value, sql_value, -math.inf) if v is not None)
        by_volume = by_capacity(peaks, weeks, capacity, grid, None if floor == -math.inf else floor)
        rules.append(f"at most {capacity:g} new SQLs a week")
        sql_value = by_volume
    sql = _describe("sql", sql_value, "; ".join(rules), scores, y)
    if peaks is not None:
        for item in (mql, sql):
            if item.value is not None:
                item.per_week = float(np.sum(peaks >= item.value) / weeks)
    return mql, sql


def _describe(
    stage: str, value: float | None, rule: str, scores: np.ndarray, y: np.ndarray
) -> Threshold:
    if value is None:
        return Threshold(stage, None, rule + ": no threshold meets it; the old one is kept")
    count, rate = at_or_above(scores, y, value)
    return Threshold(stage, value, rule, rate, count)
