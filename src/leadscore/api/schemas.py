"""Response shapes of the API, for the OpenAPI document and for tests that check real
responses against it. (Request bodies are `service.inputs`.)"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Out(BaseModel):
    model_config = {"extra": "forbid"}


class Snapshot(Out):
    score: float
    fit: float
    engagement: float
    grade: str | None
    tier: str | None
    stage: str | None
    model_version: int | None


class LeadChange(Out):
    """A lead's score after a write, the previous one, and whether it changed."""

    id: str
    created: bool | None = None
    score: float | None = Field(description="null while no model is active")
    fit: float | None
    engagement: float | None
    grade: str | None
    tier: str | None
    stage: str | None
    model_version: int | None
    changed: bool = Field(description="score, fit, engagement or stage changed")
    score_change: float | None
    previous: Snapshot | None = Field(description="null for a lead scored the first time")


class Consent(Out):
    basis: str | None
    given_at: str | None
    withdrawn_at: str | None
    source: str | None


class Override(Out):
    id: int
    kind: Literal["points", "stage"]
    points: float | None
    stage: str | None
    reason: str
    author: str
    created_at: str
    expires_at: str | None


class OutcomeSummary(Out):
    outcome: Literal["converted", "lost"]
    occurred_at: str
    value: float | None


class Lead(Out):
    id: str
    email: str | None
    external_ids: dict[str, str]
    attributes: dict[str, Any]
    owner: str | None
    source: str | None = Field(description="attributes.source")
    stage: str | None = Field(description="the pinned stage if any, else lifecycle_stage")
    lifecycle_stage: str | None
    pinned_stage: str | None
    score: float | None
    fit: float | None
    engagement: float | None
    grade: str | None
    tier: str | None
    probability: float | None = Field(description="predicted conversion probability (§7)")
    model_version: int | None
    scored_at: str | None
    created_at: str
    updated_at: str
    consent: Consent


class Prediction(Out):
    """The active predictive model's view of a lead (§7), beside the rule score."""

    model_version: int = Field(description="the predictive model version")
    probability: float = Field(description="calibrated probability of converting, 0..1")
    score: int = Field(description="the probability as 0..100")
    reasons: list[str] = Field(description="top features pushing up (+), then down (−)")


class LeadDetail(Lead):
    explanation: dict[str, Any] | None = Field(
        description="contributions per rule (§2.6), the model's own stage, overrides"
    )
    overrides: list[Override]
    outcomes: list[OutcomeSummary]
    prediction: Prediction | None = Field(
        None, description="null when no predictive model is active"
    )


class LeadWritten(LeadDetail):
    created: bool


class LeadBatchWritten(Out):
    leads: list[LeadChange]


class LeadPage(Out):
    data: list[Lead]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class EventStatus(Out):
    id: str
    lead_id: str
    status: Literal["stored", "duplicate"]


class EventWritten(Out):
    event: EventStatus
    lead: LeadChange


class EventBatchWritten(Out):
    stored: int
    duplicates: int
    events: list[EventStatus]
    leads: list[LeadChange]


class StoredEvent(Out):
    id: str
    type: str
    occurred_at: str
    properties: dict[str, Any]
    source: str | None
    received_at: str


class EventPage(Out):
    data: list[StoredEvent]
    next_cursor: str | None


class Cause(Out):
    kind: str = Field(description="event, lead, outcome, override, model or recompute")
    ref: str | None


class HistoryEntry(Out):
    at: str
    score: float
    fit: float
    engagement: float
    grade: str | None
    tier: str | None
    stage: str | None
    model_version: int | None
    cause: Cause


class HistoryPage(Out):
    data: list[HistoryEntry]
    next_cursor: str | None


class ScoreAsOf(Out):
    lead_id: str
    as_of: str
    model_version: int
    score: float
    fit: float
    engagement: float
    grade: str | None
    tier: str | None
    stage: str | None = Field(description="the model's stage at that time")
    explanation: dict[str, Any]
    recorded: HistoryEntry | None = Field(description="the live score in force at that time")


class OutcomeWritten(Out):
    lead_id: str
    outcome: Literal["converted", "lost"]
    occurred_at: str
    value: float | None
    stage: str | None


class OutcomesWritten(Out):
    outcomes: list[OutcomeWritten]


class ModelVersion(Out):
    version: int
    name: str
    active: bool
    created_at: str
    created_by: str | None
    activated_at: str | None


class ModelVersionText(ModelVersion):
    yaml: str


class Activation(Out):
    version: int
    rescored: int
    changed: int
    from_: int | None = Field(None, alias="from")


class ModelUploaded(ModelVersion):
    activation: Activation | None = None


class PredictiveSummary(Out):
    rows: int | None
    positive_rate: float | None
    estimator: str | None
    roc_auc: float | None
    pr_auc: float | None
    brier: float | None
    trained_at: str | None


class PredictiveModel(Out):
    version: int
    name: str
    active: bool
    created_at: str
    created_by: str | None
    summary: PredictiveSummary | None = None
    card: dict[str, Any] | None = Field(None, description="the model card (§7)")


class PredictiveActivation(Out):
    version: int
    active: bool


class OverrideWritten(Out):
    override: Override
    lead: LeadChange


class OverrideDeleted(Out):
    lead: LeadChange


class Health(Out):
    status: Literal["ok"]
    version: str
    database: str
    active_model: int | None


class ErrorDetail(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class Error(Out):
    detail: str | list[ErrorDetail]
