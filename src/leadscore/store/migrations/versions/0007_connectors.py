"""CRM connectors (§8): sync cursors, linked CRM records, runs and encrypted secrets.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "connector_cursors",
        sa.Column("connector", sa.String(40), nullable=False),
        sa.Column("object", sa.String(60), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "object", name="pk_connector_cursors"),
    )
    op.create_table(
        "connector_records",
        sa.Column("connector", sa.String(40), nullable=False),
        sa.Column("object", sa.String(60), nullable=False),
        sa.Column("crm_id", sa.String(200), nullable=False),
        sa.Column("lead_pk", sa.Integer(), nullable=False),
        sa.Column("written", JSON, nullable=False),
        sa.Column("written_at", sa.BigInteger()),
        sa.Column("read_at", sa.BigInteger()),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_pk"],
            ["leads.pk"],
            name="fk_connector_records_lead_pk_leads",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connector", "object", "crm_id", name="pk_connector_records"),
    )
    op.create_index("ix_connector_records_lead_pk", "connector_records", ["lead_pk"])
    op.create_table(
        "connector_runs",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("full", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("pk", name="pk_connector_runs"),
    )
    op.create_index(
        "ix_connector_runs_connector_started_at", "connector_runs", ["connector", "started_at"]
    )
    op.create_table(
        "connector_secrets",
        sa.Column("connector", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "name", name="pk_connector_secrets"),
    )


def downgrade() -> None:
    op.drop_table("connector_secrets")
    op.drop_table("connector_runs")
    op.drop_table("connector_records")
    op.drop_table("connector_cursors")
