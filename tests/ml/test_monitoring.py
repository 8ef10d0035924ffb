"""The monitoring figures (ml/monitoring.py, issue 16) on rows small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.ml import monitoring

NOW = parse_timestamp("2026-03-15T12:00:00Z")
DAY = monitoring.DAY


def by_name(windows: list[dict]) -> dict[str, dict]:
    return {w["window"]: w for w in windows}


def test_windows_are_the_last_30_and_90_days_then_each_month_newest_first() -> None:
    times = [NOW - 1, NOW - 40 * DAY, parse_timestamp("2025-12-31T23:59:59Z"), NOW + DAY]
    got = monitoring.windows(times, NOW)
    assert [w.name for w in got] == [
        "last_30_days",
        "last_90_days",
        "2026-03",
        "2026-02",
        "2025-12",
    ]
    last_30 = got[0]
    assert (last_30.start, last_30.end) == (NOW - 30 * DAY + 1, NOW + 1)  # (now - 30 d, now]
    assert format_timestamp(got[4].start) == "2025-12-01T00:00:00Z"
    assert format_timestamp(got[4].end) == "2026-01-01T00:00:00Z"  # December rolls the year


def test_predictive_figures_by_hand() -> None:
    # Four outcomes in the last 30 days: probabilities 0.9 (converted), 0.8 (lost),
    # 0.35 (converted), 0.2 (lost). Pairs (converted, lost) ranked right: (0.9, 0.8),
    # (0.9, 0.2), (0.35, 0.2); wrong: (0.35, 0.8) -> AUC 3/4. Brier: (0.01 + 0.64 +
    # 0.4225 + 0.04) / 4 = 0.278125. Calibration bins 20-30%, 30-40%, 80-90%, 90-100%, one
    # lead each: gaps 0.2, 0.65, 0.8, 0.1 -> 1.75 / 4 = 0.4375.
    p = [0.9, 0.8, 0.35, 0.2]
    y = [True, False, True, False]
    at = [NOW - DAY, NOW - 2 * DAY, NOW - 3 * DAY, NOW - 4 * DAY]
    w = by_name(monitoring.predictive_windows(p, y, at, NOW))["last_30_days"]
    assert (w["n"], w["conversions"], w["conversion_rate"]) == (4, 2, 0.5)
    assert w["roc_auc"] == pytest.approx(0.75)
    assert w["brier"] == pytest.approx(0.278125)
    assert w["calibration_error"] == pytest.approx(0.4375)
    assert w["mean_probability"] == pytest.approx(0.5625)
    # four rows make four groups of one, best first
    assert [(d["decile"], d["min_probability"], d["conversions"]) for d in w["deciles"]] == [
        (1, 0.9, 1),
        (2, 0.8, 0),
        (3, 0.35, 1),
        (4, 0.2, 0),
    ]


def test_deciles_are_tenths_of_the_window_best_first() -> None:
    p = np.arange(100) / 100  # 0.00 .. 0.99
    y = p >= 0.9  # only the top tenth converts
    w = monitoring.probability_figures(y.astype(float), p)
    assert [d["count"] for d in w["deciles"]] == [10] * 10
    first, second = w["deciles"][:2]
    assert (first["conversion_rate"], first["min_probability"]) == (1.0, 0.9)
    assert first["mean_probability"] == pytest.approx(0.945)
    assert (second["conversion_rate"], second["min_probability"]) == (0.0, 0.8)
    assert w["roc_auc"] == 1.0


def test_one_class_has_no_auc_and_an_empty_window_has_no_figures() -> None:
    w = by_name(monitoring.predictive_windows([0.4, 0.6], [False, False], [NOW, NOW], NOW))
    assert w["last_30_days"]["roc_auc"] is None and w["last_30_days"]["n"] == 2
    assert w["last_30_days"]["brier"] == pytest.approx((0.16 + 0.36) / 2)
    empty = monitoring.predictive_windows([], [], [], NOW)
    assert [x["window"] for x in empty] == ["last_30_days", "last_90_days"]
    assert empty[0]["n"] == 0 and empty[0]["roc_auc"] is None and empty[0]["deciles"] == []


def _window(name: str, n: int, conversions: int, auc: float | None) -> dict:
    return {"window": name, "n": n, "conversions": conversions, "roc_auc": auc}


def test_decay_compares_the_first_rolling_window_with_enough_outcomes() -> None:
    small = _window("last_30_days", 50, 10, 0.50)  # too few outcomes: skipped
    enough = _window("last_90_days", 200, 30, 0.70)
    month = _window("2026-03", 500, 50, 0.40)  # months are never compared
    held = monitoring.decay([small, enough, month], 0.74)
    assert not held["flagged"] and held["window"] == "last_90_days"
    assert held["realised_roc_auc"] == 0.70 and "within 0.05" in held["reason"]
    few_positive = monitoring.decay([_window("last_30_days", 300, 9, 0.2)], 0.74)
    assert not few_positive["flagged"] and few_positive["window"] is None
    assert "too few outcomes" in few_positive["reason"]
    no_card = monitoring.decay([enough], None)
    assert not no_card["flagged"] and no_card["window"] == "last_90_days"


def test_a_drop_is_flagged_past_the_margin_and_twice_its_standard_error() -> None:
    # AUC 0.68 from 30 conversions and 170 losses: Hanley & McNeil's Q1 = 0.68 / 1.32 =
    # 0.51515, Q2 = 2 * 0.4624 / 1.68 = 0.55048; variance = (0.2176 + 29 * (Q1 - 0.4624) +
    # 169 * (Q2 - 0.4624)) / 5100 = 0.0032612; standard error 0.0571.
    assert monitoring.auc_standard_error(0.68, 30, 170) == pytest.approx(0.0571, abs=1e-4)
    noisy = monitoring.decay([_window("last_90_days", 200, 30, 0.68)], 0.74)
    assert not noisy["flagged"] and "within twice its error" in noisy["reason"]  # 0.06 < 0.114
    assert noisy["standard_error"] == pytest.approx(0.0571, abs=1e-4)
    # ten times the outcomes: the error is about 0.018, and the same drop is flagged
    fell = monitoring.decay([_window("last_90_days", 2000, 300, 0.68)], 0.74)
    assert fell["flagged"] and "0.060 below the card's 0.740" in fell["reason"]
    assert fell["standard_error"] < 0.02


def test_rule_windows_give_conversion_by_band() -> None:
    bands = ["hot", "hot", "cold", None, "hot"]
    y = [True, False, False, True, True]
    at = [NOW - DAY, NOW - DAY, NOW - DAY, NOW - DAY, NOW - 60 * DAY]
    got = by_name(monitoring.rule_windows(bands, y, at, NOW))
    assert got["last_30_days"]["bands"] == [
        {"band": "cold", "n": 1, "conversions": 0, "conversion_rate": 0.0},
        {"band": "hot", "n": 2, "conversions": 1, "conversion_rate": 0.5},
        {"band": None, "n": 1, "conversions": 1, "conversion_rate": 1.0},
    ]
    assert got["last_90_days"]["n"] == 5 and got["last_90_days"]["conversion_rate"] == 0.6
    assert [b["n"] for b in got["last_90_days"]["bands"]] == [1, 3, 1]
