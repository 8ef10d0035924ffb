"""Automations (§6): versions of the automations file, and the durable outbox.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "automation_versions",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("label", sa.String(200)),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("activated_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("version", name="pk_automation_versions"),
    )
    op.create_table(
        "outbox",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(600), nullable=False),
        sa.Column("lead_pk", sa.Integer()),
        sa.Column("automation", sa.String(100), nullable=False),
        sa.Column("automations_version", sa.Integer(), nullable=False),
        sa.Column("action_index", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("occurrence", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(200)),
        sa.Column("lease_expires_at", sa.BigInteger()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.BigInteger()),
        sa.Column("trigger", JSON, nullable=False),
        sa.Column("payload", JSON),
        sa.Column("result", JSON),
        sa.Column("last_error", sa.Text()),
        sa.ForeignKeyConstraint(
            ["lead_pk"], ["leads.pk"], name="fk_outbox_lead_pk_leads", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_lead_pk", "outbox", ["lead_pk"])
    op.create_index("ix_outbox_created_at_pk", "outbox", ["created_at", "pk"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("automation_versions")
