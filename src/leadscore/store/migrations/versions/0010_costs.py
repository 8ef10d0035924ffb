"""Marketing costs per source (or campaign), month and currency, for cost per lead and ROI.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "costs",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("campaign", sa.String(200), server_default="", nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.PrimaryKeyConstraint("pk", name="pk_costs"),
        sa.UniqueConstraint(
            "source",
            "campaign",
            "month",
            "currency",
            name="uq_costs_source_campaign_month_currency",
        ),
    )
    op.create_index("ix_costs_month", "costs", ["month"])


def downgrade() -> None:
    op.drop_table("costs")
