"""Champion and challenger (SPEC §7, retraining): which outcomes judge them, and the rule that
says whether a challenger replaces the active model.

The judges are the newest outcomes — the world a model will score next — so the holdout is a
cut by outcome time, never a shuffle: the latest `share` of the leads with an outcome, at
least `minimum` of them. The challenger learns only from the outcomes before the cut; both
models then score the holdout and are compared by ROC AUC (ranking is what a sales team
uses), with log loss and the Brier score breaking a tie. Pure: frames and figures in,
a verdict out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

LOG_LOSS_GAIN = 0.02
"""Within the AUC margin, the challenger wins only with a log loss at least 2% lower (and a
Brier score no higher): better probabilities at the same ranking."""


@dataclass(frozen=True)
class Cut:
    """The lead ids the challenger trains on and the ids that judge both models."""

    train: list[str]
    holdout: list[str]
    starts_at: int | None  # the first holdout outcome's time (µs)


def holdout_size(outcomes: int, share: float, minimum: int) -> int:
    """How many of `outcomes` (the newest) judge the models: `share` of them, at least
    `minimum`."""
    return max(math.ceil(share * outcomes), minimum)


def cut(outcomes: pl.DataFrame, share: float, minimum: int) -> Cut | None:
    """Split leads with an outcome (`lead_id`, `occurred_at` µs) by outcome time: the newest
    `holdout_size` judge, the rest train. None when fewer than `minimum` would be left to
    train on (too little history to judge a retraining)."""
    ordered = outcomes.sort(["occurred_at", "lead_id"])
    n = ordered.height
    size = holdout_size(n, share, minimum)
    if n - size < minimum:
        return None
    ids = ordered["lead_id"].to_list()
    return Cut(
        train=ids[: n - size], holdout=ids[n - size :], starts_at=ordered["occurred_at"][n - size]
    )


def verdict(
    champion: dict[str, Any], challenger: dict[str, Any], margin: float
) -> tuple[bool, str]:
    """Whether the challenger replaces the champion, and why, from their holdout figures
    (`roc_auc`, `log_loss`, `brier`): better by at least `margin` ROC AUC wins, worse by it
    loses; in between, the challenger wins only with a log loss lower by `LOG_LOSS_GAIN`
    (relative) and a Brier score no higher."""
    a, b = champion["roc_auc"], challenger["roc_auc"]
    gain = b - a
    figures = f"holdout ROC AUC {b:.4f} (challenger) against {a:.4f} (champion)"
    if gain >= margin:
        return True, f"the challenger ranks better: {figures}, a gain of {gain:.4f} >= {margin}"
    if gain <= -margin:
        return False, f"the challenger ranks worse: {figures}"
    loss_old, loss_new = champion["log_loss"], challenger["log_loss"]
    brier_old, brier_new = champion["brier"], challenger["brier"]
    if loss_new <= loss_old * (1 - LOG_LOSS_GAIN) and brier_new <= brier_old:
        return True, (
            f"a tie on ranking ({figures}, within {margin}), and the challenger's probabilities "
            f"are better: log loss {loss_new:.4f} against {loss_old:.4f}, Brier "
            f"{brier_new:.4f} against {brier_old:.4f}"
        )
    return False, (
        f"no clear gain: {figures} is within {margin}, and the challenger's log loss "
        f"{loss_new:.4f} (champion {loss_old:.4f}) is not {LOG_LOSS_GAIN:.0%} lower with a "
        "Brier score no higher"
    )
