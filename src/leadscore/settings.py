"""Configuration of the live service, read from `LEADSCORE_*` environment variables.

Everything has a default that runs on one machine with no other server: an SQLite file in
the working directory, the API on 127.0.0.1:8000, a daily recompute at 03:00 UTC.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./leadscore.db"


def normalise_database_url(url: str) -> str:
    """Map `postgres://` and `postgresql://` to the psycopg 3 driver SQLAlchemy needs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def retention_by_type(value: object) -> dict[str, float]:
    """LEADSCORE_RETENTION_EVENTS_DAYS_BY_TYPE as a mapping of event type → days (> 0).

    Accepts `page_viewed=90,email_opened=365` or a mapping (or JSON object); a bad item is
    named with the reason."""
    setting = "LEADSCORE_RETENTION_EVENTS_DAYS_BY_TYPE"
    if value is None:
        return {}
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            import json

            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"{setting}: not a JSON object ({exc})") from None
        else:
            items: dict[str, object] = {}
            for item in (part.strip() for part in text.split(",")):
                if not item:
                    continue
                name, sep, days = item.partition("=")
                if not sep or not name.strip():
                    raise ValueError(
                        f"{setting}: item {item!r} is not type=days (e.g. page_viewed=90)"
                    )
                items[name.strip()] = days.strip()
            value = items
    if not isinstance(value, dict):
        raise ValueError(f"{setting}: expected type=days items (e.g. page_viewed=90)")
    out: dict[str, float] = {}
    for name, days in value.items():
        try:
            number = float(days)
        except (TypeError, ValueError):
            raise ValueError(f"{setting}: item {name}={days}: {days!r} is not a number") from None
        if not number > 0 or number != number or number == float("inf"):
            raise ValueError(f"{setting}: item {name}={days}: days must be a positive number")
        out[str(name)] = number
    return out


class Settings(BaseSettings):
    """The service's settings; each field is `LEADSCORE_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="LEADSCORE_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path.db (default ./leadscore.db) or postgresql://user@host/db",
    )
    host: str = Field("127.0.0.1", description="Where `leadscore serve` listens by default.")
    port: int = 8000

    revenue_currency: Literal["EUR", "PLN", "RON", "RSD", "USD"] = Field(
        "EUR",
        description="The currency of outcome values: the analytics' revenue, lifetime value "
        "and ROI (against costs in the same currency only).",
    )

    analytics_inline_leads: int = Field(
        50_000,
        ge=0,
        description="Up to this many leads the analytics page computes its figures while the "
        "request waits; above, a background job computes them and the page shows its result "
        "(docs/dashboard.md#at-scale).",
    )
    analytics_max_age_minutes: float = Field(
        15.0,
        gt=0,
        description="How old the analytics page's computed figures may be before the page "
        "starts a new computation (the older figures stay shown, dated, until it ends).",
    )

    recompute_cron: str = Field(
        "0 3 * * *", description="When the scheduled recompute runs (cron syntax, UTC)."
    )
    monitoring_cron: str = Field(
        "15 3 * * *",
        description="When the predictive and rule models' realised figures are recomputed "
        "from the outcomes (cron syntax, UTC; docs/predictive.md); off: never on a schedule.",
    )
    scheduler_enabled: bool = True
    scheduler_poll_seconds: float = Field(30.0, gt=0)
    lease_seconds: float = Field(
        600.0, gt=0, description="How long a job's lease lasts without being renewed."
    )
    recompute_batch_size: int = Field(
        1000, ge=1, le=100_000, description="Leads per transaction when rescoring per lead."
    )
    recompute_chunk_size: int = Field(
        100_000,
        ge=1,
        le=10_000_000,
        description="Leads read, scored and written per transaction by the bulk recompute.",
    )

    worker_enabled: bool = Field(
        True, description="Whether `leadscore serve` runs the automations' outbox worker."
    )
    outbox_poll_seconds: float = Field(
        1.0, gt=0, description="How often an idle outbox worker looks for due actions."
    )
    outbox_batch_size: int = Field(100, ge=1, le=10_000, description="Actions claimed at once.")
    outbox_concurrency: int = Field(
        8, ge=1, le=256, description="Deliveries (e-mails, webhooks) a worker makes at once."
    )
    outbox_lease_seconds: float = Field(
        120.0,
        gt=0,
        description="How long a claimed action is a worker's; after it, a worker that died "
        "is presumed gone and another delivers the action.",
    )
    outbox_max_attempts: int = Field(
        8, ge=1, le=100, description="Attempts before an action is kept as failed."
    )
    outbox_backoff_seconds: float = Field(
        30.0, ge=0, description="The wait before the first retry; it doubles each attempt."
    )
    outbox_backoff_max_seconds: float = Field(
        6 * 3600.0, ge=0, description="The longest wait between two attempts."
    )
    outbox_retention_days: float = Field(
        30.0, gt=0, description="Delivered actions older than this are pruned; failed ones stay."
    )

    retention_events_days: float | None = Field(
        None,
        gt=0,
        description="Events whose occurred_at is older than this many days are deleted by the "
        "retention job, and their leads rescored (docs/retention-and-consent.md). Unset: "
        "events are kept forever.",
    )
    retention_events_days_by_type: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict,
        description="Per event type, days its events are kept, overriding "
        "LEADSCORE_RETENTION_EVENTS_DAYS for that type: e.g. page_viewed=90,email_opened=365.",
    )
    retention_cron: str | None = Field(
        None,
        description="When the scheduled retention job runs (cron syntax, UTC); unset: daily "
        "at 03:00 when a retention is set, never otherwise.",
    )
    retrain_cron: str | None = Field(
        None,
        description="When the scheduled retraining of the predictive model runs (cron syntax, "
        "UTC; docs/predictive.md#retraining), e.g. '0 4 * * 1'; unset: never (off by default).",
    )
    retrain_min_new_outcomes: int = Field(
        200,
        ge=1,
        description="Leads whose first outcome arrived since the active predictive model was "
        "trained that make a scheduled retraining go ahead (drift also does).",
    )
    retrain_holdout_share: float = Field(
        0.2,
        gt=0,
        le=0.5,
        description="The share of the newest outcomes (by outcome time) that judge the "
        "challenger against the active model; the challenger learns from the older ones.",
    )
    retrain_holdout_min: int = Field(
        50,
        ge=10,
        description="The fewest newest outcomes that judge a retraining (and the fewest older "
        "ones the challenger must have to learn from).",
    )
    retrain_min_auc_gain: float = Field(
        0.01,
        ge=0,
        le=0.5,
        description="How much higher the challenger's holdout ROC AUC must be for it to "
        "replace the active model (within it, a clearly better log loss decides).",
    )
    require_consent: Literal["off", "basis"] = Field(
        "off",
        description="basis: a lead without a lawful basis (no consent_basis, or consent "
        "withdrawn after it was given) gets no notify or webhook delivery about them and no "
        "CRM push (docs/retention-and-consent.md). off: consent fields are only kept.",
    )

    api_key_cache_seconds: float = Field(
        5.0, ge=0, description="How long a verified API key is trusted before it is re-read."
    )
    auth_fail_limit: int = Field(
        20,
        ge=0,
        description="Failed authentications (a wrong API key, a wrong dashboard password) one "
        "client IP may make within auth_fail_window_seconds before it gets 429 for that long; "
        "0 turns the limit off. Counted per process.",
    )
    auth_fail_window_seconds: float = Field(
        60.0, gt=0, description="The window of auth_fail_limit, and the cool-down after it."
    )
    hsts: bool = Field(
        False,
        description="Send Strict-Transport-Security (one year): set it when every client "
        "reaches the service over HTTPS.",
    )

    max_body_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        description="Largest request body the API reads (413 beyond it); 16 MiB holds a "
        "10,000-event batch of ~1.6 kB events.",
    )
    max_value_length: int = Field(
        65_536,
        ge=1,
        description="Longest text (in characters) of one attribute or event property value, "
        "or of a string nested in one.",
    )
    max_keys: int = Field(
        1_000,
        ge=1,
        description="Most keys a lead's attributes, or one object or list in an event's "
        "properties, may hold.",
    )
    max_depth: int = Field(
        8,
        ge=1,
        description="Deepest nesting of objects and lists in an event's properties (the "
        "properties object itself is level 1).",
    )

    smtp_url: str | None = Field(
        None,
        description="Where e-mail goes: smtp://user:password@host:587 (STARTTLS, the default "
        "on port 587; ?starttls=true|false), smtps://user:password@host:465 (implicit TLS), "
        "user and password URL-encoded, ?timeout=SECONDS. Unset: every message is written "
        "as an .eml file into LEADSCORE_MAIL_DIR.",
    )
    mail_from: str = Field(
        "leadscore <leadscore@localhost>",
        description="The From of the e-mails automations send (its domain also ends each "
        "Message-ID).",
    )
    mail_dir: str = Field(
        "./leadscore-mail",
        description="Where e-mails are written, one .eml file each, when no SMTP URL is set.",
    )
    language: Literal["en", "pl", "ro", "sr-Latn"] = Field(
        "en",
        description="The language of the e-mails and Slack messages automations send (en, "
        "pl, ro, sr-Latn), unless a notify action names its own `language`.",
    )
    templates_dir: str | None = Field(
        None,
        description="A folder of message templates: a file there (notify.html, "
        "notify.subject.txt, digest.txt, notify.slack.txt, …) replaces the built-in one of "
        "the same name.",
    )
    delivery_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=300,
        description="How long one delivery (webhook, Slack message, SMTP exchange) may wait "
        "for each connection, write or read before it counts as failed and is retried.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The address people reach this service at: the base of the links to "
        "leads in messages.",
    )

    session_hours: float = Field(
        12.0,
        gt=0,
        le=24 * 366,
        description="How long a dashboard login lasts before the user must log in again.",
    )

    connectors_file: str | None = Field(
        None,
        description="The connectors file (YAML): which CRMs to sync and how their fields map "
        "(docs/connectors.md). Unset: no connector.",
    )
    sources_file: str | None = Field(
        None,
        description="The sources file (YAML): ad-platform lead forms, mapped inbound webhooks "
        "and website tracking sites (docs/sources.md). Unset: none of them.",
    )
    secrets_file: str | None = Field(
        None,
        description="A file of connector secrets (YAML or JSON: connector → name → value, "
        "e.g. hubspot: {access_token: …}); read at start, never logged.",
    )
    secret_key: str | None = Field(
        None,
        description="The key that encrypts connector secrets stored in the database (any "
        "long random text; `leadscore connectors set-secret` needs it). Keep it out of the "
        "database's backups.",
        repr=False,
    )
    sync_enabled: bool = Field(
        True,
        description="Whether `serve` runs each connector's scheduled sync (its sync_every).",
    )

    log_format: Literal["text", "json"] = Field(
        "text",
        description="How the server logs, one line per record on stderr: text (for a "
        "terminal) or json (for a log collector: time, level, logger, message, request_id, "
        "exception; docs/operations.md#logs).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="The least severe level the server logs."
    )
    ready_timeout_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="How long GET /ready waits for the database before answering 503.",
    )

    sqlite_busy_timeout_ms: int = Field(10_000, ge=0)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = Field(
        "NORMAL",
        description="NORMAL (WAL): a commit survives a crash of the process, not always a "
        "power cut; FULL also survives a power cut, at one fsync (~1-2 ms) per commit.",
    )
    pool_size: int = Field(10, ge=1)

    @field_validator("database_url")
    @classmethod
    def _driver(cls, url: str) -> str:
        return normalise_database_url(url)

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, level: object) -> object:
        return level.upper() if isinstance(level, str) else level

    @field_validator("recompute_cron")
    @classmethod
    def _cron(cls, expression: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(expression):
            raise ValueError(f"{expression!r} is not a cron expression (e.g. '0 3 * * *')")
        return expression

    @field_validator("retention_cron")
    @classmethod
    def _retention_cron(cls, expression: str | None) -> str | None:
        if expression is None or not expression.strip():
            return None
        return cls._cron(expression)

    @field_validator("retrain_cron")
    @classmethod
    def _retrain_cron(cls, expression: str | None) -> str | None:
        if expression is None or not expression.strip():
            return None
        return cls._cron(expression)

    @field_validator("monitoring_cron")
    @classmethod
    def _monitoring_cron(cls, expression: str) -> str:
        if expression.strip().lower() == "off":
            return "off"
        return cls._cron(expression)

    @field_validator("retention_events_days_by_type", mode="before")
    @classmethod
    def _days_by_type(cls, value: object) -> object:
        """`type=days,type=days` (the environment's form) or a mapping; every item named
        when it is wrong."""
        return retention_by_type(value)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str) -> str:
        if not re.fullmatch(r"https?://[^/\s?#]+(/\S*)?", url):
            raise ValueError(
                f"{url!r} is not an http:// or https:// address (e.g. https://leads.example.com)"
            )
        return url.rstrip("/")

    @property
    def retention_set(self) -> bool:
        """Whether any event retention is configured."""
        return self.retention_events_days is not None or bool(self.retention_events_days_by_type)

    @property
    def retention_schedule(self) -> str | None:
        """The retention job's cron expression; None: it does not run on a schedule."""
        if self.retention_cron is not None:
            return self.retention_cron
        return "0 3 * * *" if self.retention_set else None

    @property
    def monitoring_schedule(self) -> str | None:
        """The monitoring job's cron expression; None: it does not run on a schedule."""
        return None if self.monitoring_cron == "off" else self.monitoring_cron

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
