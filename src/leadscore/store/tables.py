"""The tables of the store (SQLAlchemy Core), the one description that queries use.

Migrations in `store/migrations` create and evolve the same tables; a test checks that the
migrated schema matches this metadata.

Conventions: every surrogate key is an integer `pk` (public ids are text columns); every time
is epoch microseconds UTC in a BIGINT, as in the scoring core, so that the same integers flow
from the store to the scorer and comparisons are exact on SQLite and PostgreSQL alike. Events
keep integer lead keys and event-type ids, because bulk reads of millions of events are the
batch bottleneck.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

Json = JSON().with_variant(JSONB(), "postgresql")
"""JSON text on SQLite, JSONB on PostgreSQL."""

Micros = BigInteger
"""Epoch microseconds, UTC."""


SEARCHED = ("first_name", "last_name", "company")
"""The attributes the dashboard's search reads besides the e-mail."""
SEARCH_TABLE = "leads_search"
"""SQLite: the FTS5 (trigram) table of the search text, rowid = the lead's pk, kept by
triggers (migration 0009)."""


def search_sql(dialect: str, row: str = "") -> str:
    """The text the dashboard's search looks in: the e-mail, first and last name and company,
    one space between (of `row`: `new`/`old` in a trigger). Written out as SQL (no bound
    parameters) because on PostgreSQL it must be exactly the expression of the trigram
    index `ix_leads_search` for the planner to use that index. Migration 0009 creates that
    index and, on SQLite, the FTS5 table; neither is in this metadata, as alembic cannot
    compare them (tests/service/test_store.py checks them)."""
    prefix = f"{row}." if row else ""
    if dialect == "postgresql":
        parts = [f"coalesce({prefix}attributes ->> '{name}', '')" for name in SEARCHED]
    else:
        parts = [f"coalesce(json_extract({prefix}attributes, '$.{name}'), '')" for name in SEARCHED]
    return "(" + " || ' ' || ".join([f"coalesce({prefix}email, '')", *parts]) + ")"


def _pk() -> Column[int]:
    return Column("pk", Integer, primary_key=True, autoincrement=True)


def _lead_fk(*, index: bool | None = None) -> Column[int]:
    return Column(
        "lead_pk", Integer, ForeignKey("leads.pk", ondelete="CASCADE"), nullable=False, index=index
    )


leads = Table(
    "leads",
    metadata,
    _pk(),
    Column("id", String(200), nullable=False, unique=True),
    Column("email", String(320), unique=True),
    Column("external_ids", Json, nullable=False),
    Column("attributes", Json, nullable=False),
    Column("owner", String(200)),
    Column("source", String(200)),  # attributes.source, copied for filtering
    Column("stage", String(100)),  # the stage shown: the pinned stage, else lifecycle
    Column("lifecycle_stage", String(100)),  # the automatic/CRM stage beneath any pin
    Column("pinned_stage", String(100)),
    # The lifecycle folded in event time (§4, docs/lifecycle.md): its base (the stage at the
    # last activation or stage set by a person/the CRM, and when) and the stage folded over
    # the event times since, up to `event_stage_at` (the latest event time folded).
    Column("stage_base", String(100)),
    Column("stage_base_at", Micros),
    Column("event_stage", String(100)),
    Column("event_stage_at", Micros),
    Column("score", Double, nullable=False, server_default="0"),
    Column("fit", Double, nullable=False, server_default="0"),
    Column("engagement", Double, nullable=False, server_default="0"),
    Column("grade", String(50)),
    Column("tier", String(50)),
    Column("explanation", Json),
    Column("model_version", Integer),  # the model that scored it; null: never scored
    Column("scored_at", Micros),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
    Column("consent_basis", String(50)),  # consent, legitimate_interest, contract, …
    Column("consent_given_at", Micros),
    Column("consent_withdrawn_at", Micros),
    Column("consent_source", String(200)),
    Index(None, "score", "pk"),
    Index(None, "created_at", "pk"),
    Index(None, "updated_at", "pk"),
    # A value filter's first page in score order, read from its index (migration 0009).
    Index(None, "stage", "score", "pk"),
    Index(None, "owner", "score", "pk"),
    Index(None, "source", "score", "pk"),
    Index(None, "tier", "score", "pk"),
)

lead_external_ids = Table(
    "lead_external_ids",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("external_id", String(200), primary_key=True),
    _lead_fk(index=True),
)

event_types = Table(
    "event_types",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
)

events = Table(
    "events",
    metadata,
    _pk(),
    Column("event_id", String(200), nullable=False, unique=True),  # idempotency key
    _lead_fk(),
    Column("type_id", Integer, ForeignKey("event_types.id"), nullable=False),
    Column("occurred_at", Micros, nullable=False),
    Column("properties", Json, nullable=False),
    Column("source", String(200)),
    Column("received_at", Micros, nullable=False),
    Index(None, "lead_pk", "occurred_at"),
)

outcomes = Table(
    "outcomes",
    metadata,
    _pk(),
    _lead_fk(),
    Column("outcome", String(20), nullable=False),  # converted or lost
    Column("occurred_at", Micros, nullable=False),
    Column("value", Double),
    Column("created_at", Micros, nullable=False),
    UniqueConstraint("lead_pk", "outcome", "occurred_at"),
)

score_history = Table(
    "score_history",
    metadata,
    _pk(),
    _lead_fk(),
    Column("at", Micros, nullable=False),
    Column("score", Double, nullable=False),
    Column("fit", Double, nullable=False),
    Column("engagement", Double, nullable=False),
    Column("grade", String(50)),
    Column("tier", String(50)),
    Column("stage", String(100)),
    Column("model_version", Integer),
    Column("cause_kind", String(20), nullable=False),  # event, lead, outcome, model, …
    Column("cause_ref", String(200)),
    Column("cause_event", Json),  # a correction's back-dated event: id, type, occurred_at
    Index(None, "lead_pk", "at"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("yaml", Text, nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("created_by", String(200)),
    Column("active", Boolean, nullable=False, server_default=false()),
    Column("activated_at", Micros),
)

predictive_models = Table(
    "predictive_models",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("created_by", String(200)),
    Column("card", Json, nullable=False),  # the model card (data, features, metrics, date)
    Column("meta", Json, nullable=False),  # preparation, calibration, explanation data
    Column("artifact", LargeBinary, nullable=False),  # fitted estimators, skops format
    Column("active", Boolean, nullable=False, server_default=false()),
)

model_activations = Table(
    "model_activations",
    metadata,
    _pk(),
    Column("version", Integer, ForeignKey("model_versions.version"), nullable=False),
    Column("activated_at", Micros, nullable=False),
    Column("kind", String(20), nullable=False),  # activate or rollback
    Column("actor", String(200)),
    Index(None, "activated_at"),
)

overrides = Table(
    "overrides",
    metadata,
    _pk(),
    _lead_fk(index=True),
    Column("kind", String(10), nullable=False),  # points or stage
    Column("points", Double),
    Column("stage", String(100)),
    Column("reason", Text, nullable=False),
    Column("author", String(200), nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("expires_at", Micros),
    Column("deleted_at", Micros),
    Column("deleted_by", String(200)),
)

api_keys = Table(
    "api_keys",
    metadata,
    _pk(),
    Column("name", String(200), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 hex of the key
    Column("scopes", String(100), nullable=False),  # comma-separated: read,write,admin
    Column("created_at", Micros, nullable=False),
    Column("revoked", Boolean, nullable=False, server_default=false()),
    Column("revoked_at", Micros),
)

audit_log = Table(
    "audit_log",
    metadata,
    _pk(),
    Column("at", Micros, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("target", String(300)),
    Column("details", Json, nullable=False),
    Index(None, "at"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200)),
    Column("expires_at", Micros),
    Column("done_slot", Micros),  # the last scheduled time a run completed for
    Column("updated_at", Micros, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    _pk(),
    Column("id", String(32), nullable=False, unique=True),  # public id: 32 hex digits
    Column("kind", String(50), nullable=False),  # e.g. train_predictive
    Column("status", String(20), nullable=False),  # queued, running, succeeded, failed
    # the kind while queued or running, else NULL: unique, so one job of a kind at a time
    Column("active_kind", String(50), unique=True),
    Column("params", Json, nullable=False),
    Column("created_by", String(200)),
    Column("created_at", Micros, nullable=False),
    Column("started_at", Micros),
    Column("finished_at", Micros),
    Column("updated_at", Micros, nullable=False),
    Column("progress", Double, nullable=False, server_default="0"),  # 0..1
    Column("message", Text),  # what it is doing now
    Column("result", Json),
    Column("error", Text),
    Column("holder", String(200)),  # the process working on it
    Column("expires_at", Micros),  # its lease: renewed while it works
    Index(None, "created_at", "pk"),
)

# --- owners, teams and lists (automations §6: assign_owner, add_to_list, enroll) -----------

owners = Table(
    "owners",
    metadata,
    _pk(),
    Column("id", String(200), nullable=False, unique=True),  # the value leads.owner holds
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("capacity", Integer),  # most open leads assignment gives them; null: no cap
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
)

teams = Table(
    "teams",
    metadata,
    _pk(),
    Column("name", String(200), nullable=False, unique=True),
    # the member round-robin assigned last (its cursor); null: none yet, or it was deleted
    Column("rr_last_owner", Integer, ForeignKey("owners.pk", ondelete="SET NULL")),
    Column("created_at", Micros, nullable=False),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_pk", Integer, ForeignKey("teams.pk", ondelete="CASCADE"), nullable=False),
    Column(
        "owner_pk", Integer, ForeignKey("owners.pk", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("position", Integer, nullable=False),  # the order within the team, ascending
    PrimaryKeyConstraint("team_pk", "owner_pk"),
    UniqueConstraint("team_pk", "position"),
)

lists = Table(
    "lists",
    metadata,
    _pk(),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),  # list or sequence (a nurture sequence)
    Column("description", Text),
    Column("created_at", Micros, nullable=False),
)

list_members = Table(
    "list_members",
    metadata,
    Column("list_pk", Integer, ForeignKey("lists.pk", ondelete="CASCADE"), nullable=False),
    _lead_fk(index=True),
    Column("added_at", Micros, nullable=False),
    Column("added_by", String(200), nullable=False),  # an automation's name, or a person
    PrimaryKeyConstraint("list_pk", "lead_pk"),
    Index(None, "list_pk", "added_at", "lead_pk"),  # a list's members in the order they came
)

automation_versions = Table(
    "automation_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("yaml", Text, nullable=False),
    Column("label", String(200)),  # the file's own `version` key, as written
    Column("created_at", Micros, nullable=False),
    Column("created_by", String(200)),
    Column("active", Boolean, nullable=False, server_default=false()),
    Column("activated_at", Micros),
)

# The durable outbox (§6): one row per action of a fired automation, written in the
# transaction of the change that fired it. `key` makes it unique per (lead, automation,
# action, trigger occurrence): writing a firing twice writes it once.
outbox = Table(
    "outbox",
    metadata,
    _pk(),
    Column("key", String(600), nullable=False, unique=True),
    Column("lead_pk", Integer, ForeignKey("leads.pk", ondelete="CASCADE")),  # null: a digest
    Column("automation", String(100), nullable=False),
    Column("automations_version", Integer, nullable=False),
    Column("action_index", Integer, nullable=False),
    Column("action", String(30), nullable=False),  # notify, webhook, assign_owner, …
    Column("occurrence", String(300), nullable=False),
    Column("status", String(20), nullable=False),  # pending, delivering, delivered, failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Micros, nullable=False),
    Column("holder", String(200)),  # the worker delivering it
    Column("lease_expires_at", Micros),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
    Column("delivered_at", Micros),
    Column("trigger", Json, nullable=False),  # what fired: kind, description, before/after
    Column("payload", Json),  # what was sent, built at the first attempt and kept
    Column("result", Json),  # what the delivery gave: the e-mail as sent, an owner, …
    Column("last_error", Text),
    Index(None, "status", "next_attempt_at"),
    Index(None, "lead_pk"),
    Index(None, "created_at", "pk"),
)

# --- CRM connectors (§8) ---------------------------------------------------------------------

# Where each connector's sync of each object stands: the connector's opaque cursor, written
# in the transaction of the page it follows, so a crashed sync resumes after the last page.
connector_cursors = Table(
    "connector_cursors",
    metadata,
    Column("connector", String(40), primary_key=True),
    Column("object", String(60), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", Micros, nullable=False),
)

# One row per CRM record linked to a lead: what leadscore last wrote to it (so only changed
# fields are written) and when it was last read.
connector_records = Table(
    "connector_records",
    metadata,
    Column("connector", String(40), primary_key=True),
    Column("object", String(60), primary_key=True),
    Column("crm_id", String(200), primary_key=True),
    Column("lead_pk", Integer, ForeignKey("leads.pk", ondelete="CASCADE"), nullable=False),
    Column("written", Json, nullable=False),
    Column("written_at", Micros),
    Column("read_at", Micros),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    Index(None, "lead_pk"),
)

# Each sync, push or webhook delivery: when, how it ended and what it counted.
connector_runs = Table(
    "connector_runs",
    metadata,
    _pk(),
    Column("connector", String(40), nullable=False),
    Column("kind", String(20), nullable=False),  # sync, push, webhook
    Column("full", Boolean, nullable=False, server_default=false()),
    Column("started_at", Micros, nullable=False),
    Column("finished_at", Micros),
    Column("status", String(20), nullable=False),  # running, ok, failed
    Column("counts", Json, nullable=False),
    Column("error", Text),
    Index(None, "connector", "started_at"),
)

# Connector secrets set through the CLI, encrypted with LEADSCORE_SECRET_KEY (Fernet).
connector_secrets = Table(
    "connector_secrets",
    metadata,
    Column("connector", String(40), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("ciphertext", Text, nullable=False),
    Column("updated_at", Micros, nullable=False),
)

# --- Dashboard users (issue 13) ---------------------------------------------------------------

# People who log in to the dashboard: e-mail (lower case), an argon2 hash of the password and
# a role (admin, manager, viewer). API keys stay separate: they are for programs.
users = Table(
    "users",
    metadata,
    _pk(),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),  # argon2id, PHC string
    Column("role", String(20), nullable=False),
    Column("language", String(35)),  # a BCP 47 tag; None: the browser's
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
)

# Logged-in browsers: the key is the sha256 hex of the random token in the cookie (a stolen
# database row does not log anyone in), with the session's CSRF token.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_pk", Integer, ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("expires_at", Micros, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Index(None, "user_pk"),
    Index(None, "expires_at"),
)

# --- Marketing costs (issue 13, analytics) -----------------------------------------------------

# What a source (or one campaign of it) cost in a calendar month, in one currency, so that the
# analytics can show cost per lead, per conversion and ROI. `campaign` is '' for the whole
# source (not NULL: NULLs never collide in a unique key, and a re-import must replace the row);
# the amount is exact, in minor units (cents, grosze, bani, para: every currency accepted has 2).
costs = Table(
    "costs",
    metadata,
    _pk(),
    Column("source", String(200), nullable=False),
    Column("campaign", String(200), nullable=False, server_default=""),
    Column("month", String(7), nullable=False),  # YYYY-MM
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),  # ISO 4217
    Column("created_at", Micros, nullable=False),
    Column("created_by", String(200)),
    UniqueConstraint("source", "campaign", "month", "currency"),
    Index(None, "month"),
)

# --- Privacy (issue 15, GDPR erasure) ----------------------------------------------------------

# The people erased (Art. 17), so that a later sync, import or form does not silently create
# them again: a keyed hash (HMAC-SHA256, store/suppressions.py) of the normalised e-mail and of
# each external id, never the values. A request carrying consent given after `created_at`
# lifts the entry (docs/privacy.md).
suppressions = Table(
    "suppressions",
    metadata,
    Column("hash", String(64), primary_key=True),  # hex HMAC-SHA256 of "email:…"/"external:…"
    Column("kind", String(20), nullable=False),  # email or external_id
    Column("token", String(64), nullable=False),  # the erasure's token (audit `lead.erase`)
    Column("created_at", Micros, nullable=False),
    Column("reason", String(50), nullable=False),  # erasure
)

# The key of those hashes when LEADSCORE_SECRET_KEY is not set: random, made on first use.
privacy_salt = Table(
    "privacy_salt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("salt", String(64), nullable=False),  # 32 random bytes, hex
    Column("created_at", Micros, nullable=False),
)

# --- Monitoring as outcomes arrive (issue 16, migration 0012) ----------------------------------

# Each lead's probability under a predictive model version as it was before the lead's outcome
# (service/monitoring.py says when a row is written). One row per (lead, version): the live
# rescoring keeps it at the latest probability until the first outcome freezes it
# (`outcome_at` set); the probability used only the events strictly before `scored_at`.
prediction_snapshots = Table(
    "prediction_snapshots",
    metadata,
    _lead_fk(),
    Column("model_version", Integer, nullable=False),
    Column("probability", Double, nullable=False),
    Column("scored_at", Micros, nullable=False),  # the probability's as-of time
    Column("recorded_at", Micros, nullable=False),
    Column("source", String(20), nullable=False),  # rescore or outcome
    Column("outcome_at", Micros),  # the first outcome's time, once it froze the row
    PrimaryKeyConstraint("lead_pk", "model_version"),
    Index(None, "model_version"),
)

# The realised figures of a model over windows of outcomes (ml/monitoring.py), as last computed:
# kind `predictive` (a predictive model version) or `rules` (a scoring model version).
model_performance = Table(
    "model_performance",
    metadata,
    Column("kind", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("window", String(40), nullable=False),  # last_30_days, last_90_days, 2026-11, …
    Column("position", Integer, nullable=False),  # the window's place in the served list
    Column("figures", Json, nullable=False),
    Column("computed_at", Micros, nullable=False),
    PrimaryKeyConstraint("kind", "version", "window"),
)

# --- Website tracking (issue 17, migration 0013) ----------------------------------------------

# An anonymous visitor of a tracked site (a first-party id t.js keeps): `lead_pk` once
# identified (then later beacons go straight to the lead's events), deleted with the lead.
tracking_visitors = Table(
    "tracking_visitors",
    metadata,
    _pk(),
    Column("site", String(63), nullable=False),  # the site's name in the sources file
    Column("visitor", String(64), nullable=False),
    Column("first_seen", Micros, nullable=False),
    Column("last_seen", Micros, nullable=False),
    Column("lead_pk", Integer, ForeignKey("leads.pk", ondelete="CASCADE"), index=True),
    Column("identified_at", Micros),
    UniqueConstraint("site", "visitor"),
    Index(None, "last_seen"),
)

# The beacons of a visitor not yet identified; moved into `events` (and deleted here) when
# the visitor is identified, deleted after `tracking.anonymous_days` otherwise.
tracking_events = Table(
    "tracking_events",
    metadata,
    _pk(),
    Column(
        "visitor_pk",
        Integer,
        ForeignKey("tracking_visitors.pk", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("event_id", String(64), nullable=False, unique=True),  # core.tracking.event_id
    Column("type", String(40), nullable=False),  # the event type it becomes (page_viewed, …)
    Column("occurred_at", Micros, nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text),
    Column("referrer", Text),
    Column("properties", Json, nullable=False),
)
