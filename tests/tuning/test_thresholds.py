"""Choosing MQL and SQL from scores and outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from leadscore.tuning.thresholds import (
    by_capacity,
    by_precision,
    candidates,
    choose,
    default_precision,
    sql_precision,
)

SCORES = np.array([90, 80, 70, 60, 50, 40, 30, 20, 10, 0], float)
Y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])


@pytest.mark.parametrize(("p", "q"), [(0.1, 0.3), (0.2, 0.4), (0.3, 0.6), (0.5, 0.75), (1, 1)])
def test_sql_precision(p: float, q: float) -> None:
    assert sql_precision(p) == pytest.approx(q)


def test_default_precision_is_twice_the_base_rate() -> None:
    assert default_precision(0.1) == pytest.approx(0.2)
    assert default_precision(0.8) == pytest.approx(0.9)


def test_lowest_threshold_meeting_a_precision() -> None:
    grid = candidates(SCORES, weighted=True)
    # ≥ 20 holds 4 converted of 8 (0.5); ≥ 10 only 4 of 9.
    assert by_precision(SCORES, Y, 0.5, grid, None) == 11
    assert by_precision(SCORES, Y, 0.75, grid, 11) == 51
    assert by_precision(SCORES, Y, 0.95, grid, None) == 71  # ≥ 80: 2 of 2
    assert by_precision(SCORES, np.zeros(10, int), 0.1, grid, None) is None


def test_choose_with_a_target_precision() -> None:
    mql, sql = choose(SCORES, Y, weighted=True, target_precision=0.5, capacity=None)
    assert (mql.value, sql.value) == (11, 51)
    assert (mql.count, mql.precision) == (8, 0.5)
    assert (sql.count, sql.precision) == (4, 0.75)


def test_capacity_sets_sql_no_lower_than_the_precision_rule() -> None:
    peaks = SCORES + 5  # peaks are at least the final scores
    grid = candidates(SCORES, weighted=True)
    assert by_capacity(peaks, 2.0, 1.0, grid, None) == 76  # 2 leads ≥ 76 over 2 weeks
    mql, sql = choose(
        SCORES, Y, weighted=True, target_precision=0.5, capacity=1.0, peaks=peaks, weeks=2.0
    )
    assert sql.value == 76 and sql.per_week == 1.0 and mql.per_week == 4.5
    mql, sql = choose(
        SCORES, Y, weighted=True, target_precision=0.5, capacity=100, peaks=peaks, weeks=2.0
    )
    assert sql.value == 51


def test_unreachable_target_keeps_the_old_threshold() -> None:
    mql, sql = choose(SCORES, Y, weighted=True, target_precision=1.0, capacity=None)
    assert mql.value == 71  # ≥ 80: both converted
    assert sql.value == 71
    y = np.array([0, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    _, sql = choose(SCORES, y, weighted=True, target_precision=1.0, capacity=None)
    assert sql.value is None and "kept" in sql.rule


def test_candidates_for_a_sum_model_are_round_numbers() -> None:
    grid = candidates(np.array([-12.5, 987.0]), weighted=False)
    assert grid[0] == -15 and grid[-1] >= 987 and np.allclose(np.diff(grid), 5)
