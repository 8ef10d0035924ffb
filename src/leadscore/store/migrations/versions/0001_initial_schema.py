"""The initial schema of the live service (SPEC §1, §4, §9).

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _pk() -> sa.Column[int]:
    return sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False)


def _lead(table: str) -> tuple[sa.Column[int], sa.ForeignKeyConstraint]:
    """The `lead_pk` column of a table that belongs to a lead, and its cascading key."""
    return (
        sa.Column("lead_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_pk"], ["leads.pk"], name=f"fk_{table}_lead_pk_leads", ondelete="CASCADE"
        ),
    )


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns))


def upgrade() -> None:
    op.create_table(
        "api_keys",
        _pk(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("pk", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        sa.UniqueConstraint("name", name="uq_api_keys_name"),
    )
    op.create_table(
        "audit_log",
        _pk(),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("target", sa.String(300)),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_audit_log"),
    )
    _index("audit_log", "at")
    op.create_table(
        "event_types",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event_types"),
        sa.UniqueConstraint("name", name="uq_event_types_name"),
    )
    op.create_table(
        "leads",
        _pk(),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("external_ids", JSON, nullable=False),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("source", sa.String(200)),
        sa.Column("stage", sa.String(100)),
        sa.Column("lifecycle_stage", sa.String(100)),
        sa.Column("pinned_stage", sa.String(100)),
        sa.Column("score", sa.Double(), server_default="0", nullable=False),
        sa.Column("fit", sa.Double(), server_default="0", nullable=False),
        sa.Column("engagement", sa.Double(), server_default="0", nullable=False),
        sa.Column("grade", sa.String(50)),
        sa.Column("tier", sa.String(50)),
        sa.Column("explanation", JSON),
        sa.Column("model_version", sa.Integer()),
        sa.Column("scored_at", sa.BigInteger()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("consent_basis", sa.String(50)),
        sa.Column("consent_given_at", sa.BigInteger()),
        sa.Column("consent_withdrawn_at", sa.BigInteger()),
        sa.Column("consent_source", sa.String(200)),
        sa.PrimaryKeyConstraint("pk", name="pk_leads"),
        sa.UniqueConstraint("email", name="uq_leads_email"),
        sa.UniqueConstraint("id", name="uq_leads_id"),
    )
    for columns in (("score", "pk"), ("created_at", "pk"), ("updated_at", "pk")):
        _index("leads", *columns)
    for column in ("stage", "owner", "source"):
        _index("leads", column)
    op.create_table(
        "leases",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(200)),
        sa.Column("expires_at", sa.BigInteger()),
        sa.Column("done_slot", sa.BigInteger()),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    op.create_table(
        "model_versions",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("activated_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("version", name="pk_model_versions"),
    )
    op.create_table(
        "events",
        _pk(),
        sa.Column("event_id", sa.String(200), nullable=False),
        *_lead("events"),
        sa.Column(
            "type_id",
            sa.Integer(),
            sa.ForeignKey("event_types.id", name="fk_events_type_id_event_types"),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False),
        sa.Column("properties", JSON, nullable=False),
        sa.Column("source", sa.String(200)),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    _index("events", "lead_pk", "occurred_at")
    op.create_table(
        "lead_external_ids",
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        *_lead("lead_external_ids"),
        sa.PrimaryKeyConstraint("source", "external_id", name="pk_lead_external_ids"),
    )
    _index("lead_external_ids", "lead_pk")
    op.create_table(
        "model_activations",
        _pk(),
        sa.Column(
            "version",
            sa.Integer(),
            sa.ForeignKey(
                "model_versions.version", name="fk_model_activations_version_model_versions"
            ),
            nullable=False,
        ),
        sa.Column("activated_at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.PrimaryKeyConstraint("pk", name="pk_model_activations"),
    )
    _index("model_activations", "activated_at")
    op.create_table(
        "outcomes",
        _pk(),
        *_lead("outcomes"),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Double()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_outcomes"),
        sa.UniqueConstraint(
            "lead_pk", "outcome", "occurred_at", name="uq_outcomes_lead_pk_outcome_occurred_at"
        ),
    )
    op.create_table(
        "overrides",
        _pk(),
        *_lead("overrides"),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("points", sa.Double()),
        sa.Column("stage", sa.String(100)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger()),
        sa.Column("deleted_at", sa.BigInteger()),
        sa.Column("deleted_by", sa.String(200)),
        sa.PrimaryKeyConstraint("pk", name="pk_overrides"),
    )
    _index("overrides", "lead_pk")
    op.create_table(
        "score_history",
        _pk(),
        *_lead("score_history"),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("fit", sa.Double(), nullable=False),
        sa.Column("engagement", sa.Double(), nullable=False),
        sa.Column("grade", sa.String(50)),
        sa.Column("tier", sa.String(50)),
        sa.Column("stage", sa.String(100)),
        sa.Column("model_version", sa.Integer()),
        sa.Column("cause_kind", sa.String(20), nullable=False),
        sa.Column("cause_ref", sa.String(200)),
        sa.PrimaryKeyConstraint("pk", name="pk_score_history"),
    )
    _index("score_history", "lead_pk", "at")


def downgrade() -> None:
    for table in (
        "score_history",
        "overrides",
        "outcomes",
        "model_activations",
        "lead_external_ids",
        "events",
        "model_versions",
        "leases",
        "leads",
        "event_types",
        "audit_log",
        "api_keys",
    ):
        op.drop_table(table)
