"""The champion/challenger rule (ml/champion.py): the newest outcomes judge, by outcome time;
ROC AUC decides beyond the margin, a clearly better log loss within it."""

from __future__ import annotations

import polars as pl

from leadscore.ml import champion


def outcomes(n: int) -> pl.DataFrame:
    """`n` leads whose outcome times run backwards from their ids (the cut is by time)."""
    return pl.DataFrame(
        {"lead_id": [f"L{i:03d}" for i in range(n)], "occurred_at": [1000 - i for i in range(n)]}
    )


def test_the_newest_share_judges_at_least_the_minimum() -> None:
    cut = champion.cut(outcomes(300), 0.2, 50)
    assert cut is not None
    assert len(cut.holdout) == 60 and len(cut.train) == 240
    assert cut.holdout[-1] == "L000" and cut.train[0] == "L299"  # the newest are L000..L059
    assert cut.starts_at == 1000 - 59
    small = champion.cut(outcomes(120), 0.2, 50)
    assert small is not None and len(small.holdout) == 50 and len(small.train) == 70
    assert champion.cut(outcomes(99), 0.2, 50) is None  # 49 left to learn from
    assert champion.holdout_size(1001, 0.2, 50) == 201


def figures(auc: float, loss: float, brier: float) -> dict[str, float]:
    return {"roc_auc": auc, "log_loss": loss, "brier": brier}


def test_the_verdict() -> None:
    old = figures(0.70, 0.60, 0.20)
    wins, why = champion.verdict(old, figures(0.72, 0.70, 0.25), 0.01)
    assert wins and why.startswith("the challenger ranks better")
    wins, why = champion.verdict(old, figures(0.65, 0.40, 0.10), 0.01)
    assert not wins and why.startswith("the challenger ranks worse")
    wins, why = champion.verdict(old, figures(0.705, 0.58, 0.19), 0.01)
    assert wins and why.startswith("a tie on ranking")
    wins, why = champion.verdict(old, figures(0.705, 0.595, 0.19), 0.01)  # < 2% lower
    assert not wins and why.startswith("no clear gain")
    wins, why = champion.verdict(old, figures(0.70, 0.50, 0.21), 0.01)  # Brier higher
    assert not wins and why.startswith("no clear gain")
    assert champion.verdict(old, figures(0.70, 0.60, 0.20), 0.0)[0]  # no margin: equal wins
