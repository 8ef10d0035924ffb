"""Response shapes of the monitoring routes (issue 16): a model version's realised figures
over windows of outcome time (service/monitoring.py, ml/monitoring.py)."""

from __future__ import annotations

from pydantic import Field

from leadscore.api.schemas import Out


class Window(Out):
    window: str = Field(description="last_30_days, last_90_days, or a calendar month (2026-11)")
    start: str = Field(description="the first outcome time it holds (UTC)")
    end: str = Field(description="the outcome time it ends before (UTC)")
    n: int = Field(description="outcomes in the window")
    conversions: int
    conversion_rate: float | None = Field(description="conversions / n; null when n is 0")


class Decile(Out):
    decile: int = Field(description="1: the tenth with the highest probabilities")
    count: int
    min_probability: float
    mean_probability: float
    conversions: int
    conversion_rate: float


class PredictiveWindow(Window):
    mean_probability: float | None = Field(description="the mean predicted probability")
    roc_auc: float | None = Field(description="realised ROC AUC; null with one class only")
    calibration_error: float | None = Field(
        description="expected calibration error over ten probability bins"
    )
    brier: float | None = Field(description="mean squared gap of probability and outcome")
    deciles: list[Decile]


class Decay(Out):
    flagged: bool = Field(
        description="the realised AUC fell more than `margin`, and more than twice its "
        "standard error, below the card's"
    )
    window: str | None = Field(description="the rolling window compared; null: none had enough")
    realised_roc_auc: float | None
    standard_error: float | None = Field(
        description="the realised AUC's standard error (Hanley & McNeil); the drop must pass "
        "twice it too"
    )
    card_roc_auc: float | None = Field(description="the model card's cross-validated ROC AUC")
    margin: float
    min_outcomes: int = Field(description="outcomes a window needs before it is compared")
    reason: str


class PredictivePerformance(Out):
    """A predictive model version's realised figures (docs/predictive.md)."""

    version: int
    computed_at: str | None = Field(description="when the figures were computed")
    card_roc_auc: float | None
    windows: list[PredictiveWindow]
    decay: Decay


class Band(Out):
    band: str | None = Field(description="the tier before the outcome; null: no tier")
    n: int
    conversions: int
    conversion_rate: float


class RuleWindow(Window):
    bands: list[Band] = Field(description="conversion by the tier the lead had before its outcome")


class RulePerformance(Out):
    """A scoring model version's realised conversion by band (docs/predictive.md)."""

    version: int
    computed_at: str | None = Field(description="when the figures were computed")
    windows: list[RuleWindow]
