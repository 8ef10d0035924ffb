"""Response shape of the drift report (api/routes/predictive_models.py, ml/drift.py): kept
apart from api/schemas.py, which it reuses."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from leadscore.api.schemas import Out


class DriftWindow(Out):
    days: int = Field(description="leads created, or with an event, in the last `days` days")
    since: str
    until: str = Field(description="now: the features are computed as of this moment")
    limit: int = Field(description="at most this many leads, the newest created first")


class DriftThresholds(Out):
    psi_drift: float = Field(description="PSI from which a feature is drifted")
    psi_moderate: float = Field(description="PSI from which a feature is a moderate shift")
    share_drift: float = Field(
        description="share of rows outside the training range or in unseen categories from "
        "which a feature is drifted"
    )


class UnseenValue(Out):
    value: str = Field(description="the category as the model reads it (case-folded)")
    rows: int


class NotChecked(Out):
    feature: str
    reason: str


class DriftFeature(Out):
    """One raw feature: numeric figures for numbers, flags and dates (as days ago), category
    figures for categories (the others are null)."""

    feature: str
    kind: Literal["numeric", "boolean", "categorical", "datetime"]
    measure: Literal["value", "days_ago"]
    rows: int
    absent: bool = Field(description="the column was not in the leads at all")
    missing: float = Field(description="share of rows without a value")
    training_missing: float
    psi: float | None = Field(description="population stability index; null without rows")
    status: Literal["drifted", "moderate", "stable"]
    drifted: bool
    reasons: list[str] = Field(description="why it is drifted, with the thresholds passed")
    training_min: float | None = None
    training_max: float | None = None
    below: float | None = Field(None, description="share of rows below the training minimum")
    above: float | None = Field(None, description="share of rows above the training maximum")
    outside: float | None = Field(None, description="below + above")
    min: float | None = None
    max: float | None = None
    sentinel: float | None = Field(None, description="share of rows at the sentinel value")
    training_sentinel: float | None = None
    sentinel_value: float | None = None
    unseen: float | None = Field(
        None, description="share of rows in categories never seen in training"
    )
    unseen_values: list[UnseenValue] | None = Field(None, description="the most frequent ones")
    other: float | None = Field(
        None, description="share of rows outside the categories the model keeps"
    )
    training_other: float | None = None


class DriftReport(Out):
    """A predictive model version's training profile against the service's recent leads."""

    version: int
    window: DriftWindow
    leads: int
    rows: int
    training_rows: int | None
    thresholds: DriftThresholds
    drifted: list[str] = Field(description="the drifted features, in feature order")
    moderate: list[str] = Field(description="features with a moderate shift (PSI)")
    features: list[DriftFeature]
    not_checked: list[NotChecked] = Field(description="features a drift report does not cover")
