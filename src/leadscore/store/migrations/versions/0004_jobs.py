"""Background jobs (training over the API): one row per job, one active job per kind.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("active_kind", sa.String(50)),
        sa.Column("params", JSON, nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger()),
        sa.Column("finished_at", sa.BigInteger()),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("progress", sa.Double(), server_default="0", nullable=False),
        sa.Column("message", sa.Text()),
        sa.Column("result", JSON),
        sa.Column("error", sa.Text()),
        sa.Column("holder", sa.String(200)),
        sa.Column("expires_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("pk", name="pk_jobs"),
        sa.UniqueConstraint("id", name="uq_jobs_id"),
        sa.UniqueConstraint("active_kind", name="uq_jobs_active_kind"),
    )
    op.create_index("ix_jobs_created_at_pk", "jobs", ["created_at", "pk"])


def downgrade() -> None:
    op.drop_index("ix_jobs_created_at_pk", table_name="jobs")
    op.drop_table("jobs")
