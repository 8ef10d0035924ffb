"""Response shapes of the GDPR routes (api/routes/gdpr.py): the export document and the
erasure report. Kept apart from api/schemas.py, which they reuse."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from leadscore.api.schemas import HistoryEntry, Lead, Out, Override, Prediction, StoredEvent


class ExportedLead(Lead):
    explanation: dict[str, Any] | None = Field(
        description="the stored explanation, or derived as GET /leads/{id} derives it"
    )


class ExportedOutcome(Out):
    outcome: Literal["converted", "lost"]
    occurred_at: str
    value: float | None
    created_at: str


class ExportedHistory(HistoryEntry):
    explanation: dict[str, Any] | None = Field(
        description="derived from the events up to `at`, the overrides in force then and the"
        " model version of the change (current attributes); null when no model scored it,"
        " and for changes older than the newest 1,000"
    )


class ExportedSnapshot(Out):
    model_version: int = Field(description="the predictive model version")
    probability: float = Field(description="its probability, from the events before scored_at")
    scored_at: str
    recorded_at: str
    source: Literal["rescore", "outcome"]
    outcome_at: str | None = Field(description="the first outcome's time, once it froze the row")


class ExportedOverride(Override):
    deleted_at: str | None
    deleted_by: str | None


class ExportedMembership(Out):
    list: str
    kind: str
    added_at: str
    added_by: str


class ExportedOutbox(Out):
    id: int
    automation: str
    action: str
    status: str
    created_at: str
    delivered_at: str | None
    trigger: Any
    payload: Any
    result: Any
    last_error: str | None


class ExportedConnectorRecord(Out):
    connector: str
    object: str
    crm_id: str
    written: Any
    written_at: str | None
    read_at: str | None
    deleted: bool


class ExportedVisitor(Out):
    """A website visitor identified as the lead (its beacons are the lead's events)."""

    site: str
    visitor: str = Field(description="the first-party visitor id of t.js (its _lsvid cookie)")
    first_seen: str
    last_seen: str
    identified_at: str | None


class ExportedAudit(Out):
    at: str
    actor: str
    action: str
    target: str | None
    details: Any


class LeadExport(Out):
    """Everything stored on one person (GDPR Art. 15 and 20), docs/privacy.md."""

    format_version: int = Field(description="the document's layout version (1)")
    exported_at: str
    lead: ExportedLead
    events: list[StoredEvent] = Field(description="every event, oldest first")
    outcomes: list[ExportedOutcome]
    score_history: list[ExportedHistory] = Field(description="every score change, oldest first")
    prediction_snapshots: list[ExportedSnapshot] = Field(
        description="the lead's pre-outcome probabilities kept for monitoring, one per version"
    )
    overrides: list[ExportedOverride] = Field(description="points overrides, deleted ones too")
    pins: list[ExportedOverride] = Field(description="stage pins, deleted ones too")
    lists: list[ExportedMembership]
    outbox: list[ExportedOutbox] = Field(
        description="the lead's automation actions, and digests that mention it"
    )
    connector_records: list[ExportedConnectorRecord]
    tracked_visitors: list[ExportedVisitor] = Field(
        description="website visitors identified as the lead (docs/sources.md)"
    )
    audit: list[ExportedAudit] = Field(description="audit entries that name the lead")
    prediction: Prediction | None = Field(description="the active predictive model's, computed now")


class ErasedModel(Out):
    version: int
    name: str
    active: bool
    created_at: str


class Erasure(Out):
    """What an erasure removed (GDPR Art. 17); the audit record `lead.erase` holds the same
    without `log_truncated` and `vacuum_needed`."""

    token: str = Field(
        description="HMAC-SHA256 of the lead id under the server's key: no personal data"
    )
    erased_at: str
    removed: dict[str, int] = Field(description="rows deleted, by table")
    scrubbed: dict[str, int] = Field(
        description="rows of others (digests, audit entries, sync runs) whose mention of the"
        " person was replaced by the token, by table"
    )
    suppressions: int = Field(description="hashes of the e-mail and external ids suppressed")
    models_trained_with: list[ErasedModel] = Field(
        description="stored predictive models trained while the lead had an outcome"
    )
    log_truncated: bool | None = Field(
        None, description="SQLite: the write-ahead log was checkpointed and truncated"
    )
    vacuum_needed: bool = Field(
        description="PostgreSQL: run `leadscore gdpr vacuum` to remove the dead tuples"
    )
