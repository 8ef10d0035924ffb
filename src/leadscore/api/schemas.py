"""Response shapes of the API, for the OpenAPI document and for tests that check real
responses against it. (Request bodies are `service.inputs`.)

The score fields (score, fit, engagement, grade, tier, stage) are not restated here: `with_score`
adds them from the score record (core.explain.SCORE_COLUMNS), in record order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, Field, create_model

from leadscore.core.explain import SCORE_COLUMNS, ScoreKind

M = TypeVar("M", bound=BaseModel)

SCORE_TYPES: dict[ScoreKind, Any] = {"id": str, "number": float, "label": str | None}
"""The Python type of each kind of score column (core.explain.ScoreKind)."""


def with_score(
    *,
    after: str | None = None,
    nullable: bool = False,
    omit: tuple[str, ...] = ("lead_id",),
    **descriptions: str,
) -> Callable[[type[M]], type[M]]:
    """Add the score record's columns to a response model, after its field `after` (first when
    None); `nullable` where a lead may have no score yet; `omit` the columns the model names
    otherwise (the lead's id, by default); `descriptions` by column name."""

    def build(cls: type[M]) -> type[M]:
        score: dict[str, Any] = {}
        for name, kind in SCORE_COLUMNS:
            if name not in omit:
                annotation = SCORE_TYPES[kind] | None if nullable else SCORE_TYPES[kind]
                text = descriptions.get(name)
                score[name] = (annotation, ... if text is None else Field(description=text))
        own = cls.model_fields
        if descriptions.keys() - score.keys():
            raise TypeError(f"{cls.__name__}: {sorted(descriptions)} are not all score columns")
        if score.keys() & own.keys():
            raise TypeError(f"{cls.__name__} declares score columns itself: omit them")
        if after is not None and after not in own:
            raise TypeError(f"{cls.__name__} has no field {after!r}")
        fields: dict[str, Any] = dict(score) if after is None else {}
        for name, info in own.items():
            fields[name] = (info.annotation, info)
            if name == after:
                fields.update(score)
        model = create_model(
            cls.__name__,
            __base__=cls.__base__,
            __doc__=cls.__doc__,
            __module__=cls.__module__,
            **fields,
        )
        return cast("type[M]", model)

    return build


class Out(BaseModel):
    model_config = {"extra": "forbid"}


@with_score()
class Snapshot(Out):
    model_version: int | None


@with_score(after="created", nullable=True, score="null while no model is active")
class LeadChange(Out):
    """A lead's score after a write, the previous one, and whether it changed."""

    id: str
    created: bool | None = None
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


@with_score(after="pinned_stage", nullable=True, omit=("lead_id", "stage"))
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


class CauseEvent(Out):
    id: str
    type: str
    occurred_at: str


class Cause(Out):
    kind: str = Field(
        description="event, lead, outcome, override, model, recompute, or correction: a"
        " back-dated event, arrived late, changed the stage (docs/lifecycle.md)"
    )
    ref: str | None
    event: CauseEvent | None = Field(
        None, description="for a correction: the back-dated event that caused it"
    )


@with_score(after="at")
class HistoryEntry(Out):
    at: str
    model_version: int | None
    cause: Cause


class HistoryPage(Out):
    data: list[HistoryEntry]
    next_cursor: str | None


@with_score(after="model_version", stage="the model's stage at that time")
class ScoreAsOf(Out):
    lead_id: str
    as_of: str
    model_version: int
    explanation: dict[str, Any]
    recorded: HistoryEntry | None = Field(description="the live score in force at that time")


class OutcomeWritten(Out):
    lead_id: str
    outcome: Literal["converted", "lost"]
    occurred_at: str
    value: float | None
    stage: str | None
    status: Literal["recorded", "duplicate"] = Field(
        description="duplicate: this (lead, outcome, time) was recorded before; nothing changed"
    )


class OutcomesWritten(Out):
    recorded: int
    duplicates: int
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


class SyncReport(Out):
    """What a CRM sync did (docs/connectors.md#what-a-sync-counts)."""

    connector: str
    full: bool
    counts: dict[str, int] = Field(
        description="read, created, updated, deleted, deals read, opportunities, outcomes,"
        " pushed, push failed, errors, api calls, …"
    )
    errors: list[str] = Field(description="the first errors, each naming its CRM record")


class ConnectorRun(Out):
    id: int
    kind: Literal["sync", "webhook"]
    full: bool
    started_at: str
    finished_at: str | None
    status: Literal["running", "ok", "failed"]
    counts: dict[str, Any]
    error: str | None


class ConnectorCursor(Out):
    cursor: Any = Field(description="the connector's own position (its JSON), as stored")
    updated_at: str | None


class Connector(Out):
    """A configured CRM connector: its mapping, which secrets are set (never their values),
    where each object's sync stands, the CRM records linked, and its latest runs."""

    name: Literal["hubspot", "salesforce", "pipedrive"]
    objects: list[str]
    deals: bool
    sync_every: str | None
    push: bool
    fields: list[dict[str, Any]]
    stages: dict[str, Any]
    secrets: dict[str, str] = Field(description="secret name → where it is set from")
    secrets_needed: list[str]
    cursors: dict[str, ConnectorCursor]
    records: dict[str, int] = Field(description="linked CRM records per object")
    last_sync: ConnectorRun | None
    runs: list[ConnectorRun]


class Move(Out):
    """Leads whose stage (or tier) would go from one value to another ("none": no value)."""

    model_config = {"extra": "forbid", "populate_by_name": True}
    from_: str = Field(alias="from")
    to: str
    leads: int


class Moves(Out):
    changed: int = Field(description="leads whose value would change")
    moves: list[Move] = Field(description="the biggest moves first (20 at most)")
    other: int = Field(description="leads in the moves not listed")


class ScoreShift(Out):
    up: int
    down: int
    same: int
    mean: float | None
    median: float | None
    min: float | None
    max: float | None


class ActivationPreview(Out):
    """What activating (or rolling back) a model version would change; the dashboard's
    count before an admin confirms (docs/dashboard.md#models)."""

    model_config = {"extra": "forbid", "populate_by_name": True}
    version: int = Field(description="the version scored with (for a rollback: the one back)")
    kind: Literal["activate", "rollback"]
    from_: int | None = Field(alias="from", description="a rollback's active version")
    as_of: str
    leads: int
    stages: Moves
    tiers: Moves
    score: ScoreShift


class BacktestBand(Out):
    band: str
    low: float
    high: float
    count: int
    conversions: int
    rate: float | None


class BacktestColumn(Out):
    name: str
    kind: Literal["model"]
    version: int
    scored: int
    auc: float
    bands: list[BacktestBand]
    qualification: dict[str, Any] | None = None
    median_days_sql_to_conversion: float | None = None
    converted_via_sql: int | None = None


class ModelBacktest(Out):
    """A backtest of two stored model versions on the store's outcomes (the dashboard's)."""

    leads: int
    decided: int
    converted: int
    start: str
    end: str
    columns: list[BacktestColumn]
    versions: list[int]
    limit: int = Field(description="decided leads replayed at most")
    cut: bool = Field(description="the period held more decided leads than `limit`")
    period: dict[str, str | None]


class AnalyticsFigures(Out):
    """The dashboard's analytics figures of one period, computed in the background on a
    large store (docs/dashboard.md#at-scale): each as `GET /api/v1/analytics/{name}` gives it."""

    model_config = {"extra": "forbid", "populate_by_name": True}
    distribution: dict[str, Any]
    conversion: dict[str, Any]
    funnel: dict[str, Any]
    time_to_conversion: dict[str, Any] = Field(alias="time-to-conversion")
    sources: dict[str, Any]
    lifetime_value: dict[str, Any] = Field(alias="lifetime-value")
    calibration: dict[str, Any]


class RetrainFigures(Out):
    """A model in a retraining decision: its version and its figures on the holdout of the
    newest outcomes (docs/predictive.md#retraining)."""

    version: int | None = Field(None, description="null for a challenger that was not kept")
    rows: int | None = Field(None, description="the outcomes it was trained on")
    estimator: str | None = Field(None, description="logistic, gbm or blend")
    roc_auc: float | None = None
    pr_auc: float | None = None
    log_loss: float | None = None
    brier: float | None = None
    calibration_error: float | None = None
    figures: str | None = Field(
        None, description="where the figures come from when not the holdout (a first model)"
    )
    error: str | None = Field(None, description="why this model could not be judged")


class RetrainHoldout(Out):
    """The newest outcomes that judged the two models."""

    rows: int
    converted: int
    first_outcome_at: str | None
    last_outcome_at: str
    trained_on: int = Field(description="the older outcomes the challenger learned from")


class RetrainDecision(Out):
    """One retraining run (docs/predictive.md#retraining): what was decided and why."""

    decision: Literal["activated", "kept", "skipped"] = Field(
        description="activated: a new version is active; kept: the challenger lost (or could "
        "not be judged) and the active version stays; skipped: nothing was trained"
    )
    why: str = Field(description="the reason, with the deciding figures")
    run: str = Field(description="what started the run: scheduled, api or cli")
    force: bool = Field(description="the trigger (new outcomes, drift) was skipped")
    outcomes: int = Field(description="leads with an outcome in the store")
    new_outcomes: int | None = Field(
        description="leads whose first outcome arrived since the active version was trained"
    )
    min_new_outcomes: int
    drifted: list[str] = Field(description="the active version's drifted features")
    decayed: bool = Field(
        description="the active version's realised ROC AUC decayed against its card "
        "(the monitoring's decay flag)"
    )
    trigger: list[str] = Field(
        description="why a challenger was trained: new outcomes, drift, decay, forced, "
        "no active model"
    )
    champion: RetrainFigures | None
    challenger: RetrainFigures | None
    holdout: RetrainHoldout | None
    min_auc_gain: float
    active_version: int | None = Field(description="the active version after the decision")
    decided_at: str
    actor: str = Field(description="scheduler, the API key's name, or cli")


class RetrainDecisionEntry(RetrainDecision):
    id: int = Field(description="the audit log entry holding it")


class RetrainDecisionPage(Out):
    data: list[RetrainDecisionEntry]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class Job(Out):
    """A background job (docs/api.md#jobs): training a predictive model, a CRM sync, the
    dashboard's count of what a model activation would change, its backtest of two versions,
    or its analytics figures on a large store."""

    id: str = Field(description="the job's id: 32 hex digits")
    kind: str = Field(
        pattern=r"^(train_predictive|sync_hubspot|sync_salesforce|sync_pipedrive"
        r"|model_preview_(activate|rollback)_\d+|model_backtest|analytics|retrain_predictive)$",
        description="train_predictive, retrain_predictive, sync_{connector},"
        " model_preview_{activate|rollback}_{version}, model_backtest or analytics",
    )
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: float = Field(ge=0, le=1, description="how far it is, from 0 to 1")
    message: str | None = Field(description="what it is doing now")
    params: dict[str, Any] = Field(description="what was asked (the request body's fields)")
    created_by: str | None = Field(description="the name of the API key that asked")
    created_at: str
    started_at: str | None
    finished_at: str | None
    result: (
        PredictiveModel
        | SyncReport
        | ActivationPreview
        | ModelBacktest
        | AnalyticsFigures
        | RetrainDecision
        | None
    ) = Field(
        description="when it succeeded: the new predictive model version, with its card; a"
        " CRM sync's report; what an activation would change; a backtest's result; the"
        " analytics figures; or a retraining decision"
    )
    error: str | None = Field(description="when it failed: why")


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


class ErrorDetail(Out):
    """One bad field: where it was (`loc`, as FastAPI says it: `["body", "events", 3, "type"]`,
    `["query", "cursor"]`, `["path", "version"]`), why (`msg`) and a machine-readable `type`.
    A model upload's errors add the model key `path` and its `line`."""

    type: str
    loc: list[str | int]
    msg: str
    path: str | None = Field(None, description="model errors: the key path in the YAML")
    line: int | None = Field(None, description="model errors: the line in the YAML")


class Error(Out):
    """Every 4xx and 5xx answer (docs/api.md#errors)."""

    detail: str | list[ErrorDetail] = Field(
        description="a message, or every bad field of the request"
    )
    request_id: str = Field(description="this request's X-Request-ID, to find it in the log")


# --- automations and the outbox (§6) -----------------------------------------------------


class AutomationSummary(Out):
    name: str
    description: str | None
    enabled: bool
    trigger: str
    actions: list[str]


class AutomationsVersion(Out):
    version: int
    label: str | None
    active: bool
    created_at: str
    created_by: str | None
    activated_at: str | None
    automations: list[AutomationSummary]


class AutomationsVersionText(AutomationsVersion):
    yaml: str


class AutomationsActive(Out):
    active: int | None = Field(description="the active version; null: automations are off")


class OutboxRow(Out):
    id: int
    lead_id: str | None = Field(description="null for a digest (one message about many leads)")
    automation: str
    automations_version: int
    action: str
    action_index: int
    occurrence: str = Field(description="what fired it; unique with the lead and action")
    status: Literal["pending", "delivering", "delivered", "failed"]
    attempts: int
    next_attempt_at: str | None
    created_at: str
    updated_at: str
    delivered_at: str | None
    last_error: str | None
    trigger: dict[str, Any]


class OutboxRowDetail(OutboxRow):
    payload: dict[str, Any] | None = Field(description="what was (or will be) sent")
    result: dict[str, Any] | None = Field(
        description="what the delivery gave: the e-mail as sent, the owner assigned, …"
    )


class OutboxPage(Out):
    data: list[OutboxRow]
    next_cursor: str | None
    counts: dict[str, int] = Field(description="rows per status, in the whole outbox")


class Owner(Out):
    """A person leads are assigned to (docs/owners-and-lists.md)."""

    id: str = Field(description="the value a lead's `owner` holds: an e-mail, a CRM user id")
    name: str
    email: str | None
    active: bool = Field(description="false: keeps their leads, is assigned no new ones")
    capacity: int | None = Field(description="most open leads assignment gives them; null: no cap")
    open_leads: int = Field(
        description="leads they own that are not customer, lost or disqualified"
    )
    teams: list[str]
    created_at: str
    updated_at: str


class TeamMember(Out):
    id: str
    name: str
    active: bool
    capacity: int | None
    open_leads: int


class Team(Out):
    """An ordered group of owners: the order is the round-robin order."""

    name: str
    members: list[TeamMember] = Field(description="in order")
    last_assigned: str | None = Field(description="the member round-robin assigned last")
    created_at: str


class ListSummary(Out):
    """A list, or a nurture sequence (`kind`), and its number of members."""

    name: str
    kind: Literal["list", "sequence"]
    description: str | None
    members: int
    created_at: str


class ListMember(Out):
    """A lead in a list: what the export holds."""

    lead_id: str
    email: str | None
    name: str | None = Field(description="attributes name, else first_name and last_name")
    company: str | None = Field(description="attributes company, company_name or account")
    score: float | None = Field(description="null for a lead never scored")
    tier: str | None
    stage: str | None
    owner: str | None
    added_at: str
    added_by: str = Field(description="who added it: an automation, a person, an API key")


class ListMemberPage(Out):
    data: list[ListMember] = Field(description="in the order they were added")
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class ListMembersAdded(Out):
    added: list[str] = Field(description="the lead ids added")
    already_members: list[str] = Field(description="the lead ids that were members already")
    list: ListSummary  # last: from here on `list` names this field in the class body


class ListMemberRemoved(Out):
    list: ListSummary
    removed: bool = Field(description="false: the lead was not a member")


# --- costs (issue 13) --------------------------------------------------------------------------


class Cost(Out):
    source: str
    campaign: str | None = Field(description="null: the source as a whole")
    month: str = Field(description="YYYY-MM")
    amount: str = Field(description="exact, 2 decimals")
    currency: Literal["EUR", "PLN", "RON", "RSD", "USD"]
    created_by: str | None


class CostsStored(Out):
    rows: int = Field(description="rows stored (a key repeated in the body counts once)")
    inserted: int
    replaced: int = Field(description="rows that replaced a stored one with their key")
    totals: dict[str, str] = Field(description="the amounts stored per currency, exact")


# --- analytics (issue 13) ----------------------------------------------------------------------


class AnalyticsHead(Out):
    from_: str = Field(alias="from", description="the period's start (leads created from then)")
    to: str = Field(description="the period's end, excluded")
    model_version: int | None = Field(
        description="the model whose tiers and stages are used: `version`, else the active one"
    )
    scores: Literal["current", "recorded"] = Field(
        description="current: the leads' scores now; recorded: their latest under `version`"
    )
    leads: int = Field(description="scored leads created in the period")


class ScoreBin(Out):
    label: str
    low: float
    high: float | None
    leads: int
    share: float = Field(description="of all the period's leads, 0..1")


class Distribution(AnalyticsHead):
    bins: list[ScoreBin]


class ConversionRate(Out):
    label: str = Field(description="a score band (`70–80`) or a tier")
    low: float | None
    high: float | None
    leads: int
    converted: int
    lost: int = Field(description="lost and never converted")
    rate: float | None = Field(description="converted / leads; null with no leads")
    ci_low: float | None = Field(description="95 % Wilson score interval, lower bound")
    ci_high: float | None = Field(description="95 % Wilson score interval, upper bound")


class ConversionInversion(Out):
    by: Literal["band", "tier"]
    lower: str
    higher: str
    lower_rate: float
    higher_rate: float
    overlap: bool = Field(description="whether the two 95 % intervals overlap")


class Conversion(AnalyticsHead):
    bands: list[ConversionRate]
    tiers: list[ConversionRate]
    inversions: list[ConversionInversion]
    alert: str | None = Field(description="set when a lower band or tier converts better")
    min_leads: int = Field(description="the leads each side of an inversion needs")


class FunnelStep(Out):
    stage: str
    leads: int
    rate_from_previous: float | None
    rate_from_top: float | None
    median_days: float | None = Field(description="from the stage before, over `timed` leads")
    timed: int


class Funnel(AnalyticsHead):
    steps: list[FunnelStep]


class ConversionTiming(Out):
    label: str
    low: float
    high: float | None
    converted: int
    median_days: float | None
    q1_days: float | None
    q3_days: float | None
    undated: int = Field(description="converted before their start: left out of the days")


class TimeToConversion(AnalyticsHead):
    bands: list[ConversionTiming]


class CostFigures(Out):
    currency: str
    cost: float = Field(description="the cost over the period's months, in this currency")
    cost_per_lead: float | None
    cost_per_conversion: float | None
    roi: float | None = Field(
        description="(revenue − cost) / cost; null unless revenue is in this currency"
    )


class SourceRow(Out):
    source: str = Field(description="`(none)`: leads without a source")
    campaign: str | None = Field(
        description="the lead attribute `campaign`; null in by-source rows"
    )
    leads: int
    converted: int
    rate: float | None
    revenue: float = Field(description="the values of all converted outcomes of these leads")
    revenue_currency: str
    costs: list[CostFigures] = Field(description="one per currency; empty with no costs loaded")


class CostMonths(Out):
    from_: str = Field(alias="from")
    to: str


class MoneyHead(AnalyticsHead):
    revenue_currency: str = Field(
        description="LEADSCORE_REVENUE_CURRENCY: outcome values' currency"
    )
    cost_months: CostMonths = Field(description="the months whose costs count (both included)")


class Sources(MoneyHead):
    sources: list[SourceRow]
    campaigns: list[SourceRow]


class LifetimeValueRow(Out):
    source: str
    customers: int = Field(description="converted leads")
    valued: int = Field(description="customers with a value on a converted outcome")
    revenue: float
    lifetime_value: float | None = Field(description="revenue / valued")
    currency: str


class LifetimeValue(MoneyHead):
    sources: list[LifetimeValueRow]
    total: LifetimeValueRow


class CalibrationBin(Out):
    label: str = Field(description="the decile, 1 (lowest predictions) to 10")
    low: float
    high: float
    leads: int
    predicted: float = Field(description="mean predicted probability")
    converted: int
    observed: float
    ci_low: float
    ci_high: float


class Calibration(AnalyticsHead):
    ece: float | None = Field(description="expected calibration error, 0..1")
    without_probability: int = Field(
        description="scored leads with no stored probability (a bulk recompute cleared their "
        "explanation): left out of the deciles"
    )
    bins: list[CalibrationBin]
    reason: Literal["no_predictive", "current_only"] | None = Field(
        description="why there are no bins: the active model blends no predictive model, or "
        "`version` was asked (the score history keeps no probability)"
    )
    note: str | None = Field(description="the reason in words")
