"""Monitoring as outcomes arrive (issue 16): each lead's pre-outcome probability under each
predictive model version (`prediction_snapshots`, deleted with the lead), and the realised
figures of the models over windows of outcomes (`model_performance`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "prediction_snapshots",
        sa.Column("lead_pk", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Double(), nullable=False),
        sa.Column("scored_at", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("outcome_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_pk"],
            ["leads.pk"],
            name="fk_prediction_snapshots_lead_pk_leads",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_pk", "model_version", name="pk_prediction_snapshots"),
    )
    op.create_index(
        "ix_prediction_snapshots_model_version", "prediction_snapshots", ["model_version"]
    )
    op.create_table(
        "model_performance",
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("window", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("figures", JSON, nullable=False),
        sa.Column("computed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "version", "window", name="pk_model_performance"),
    )


def downgrade() -> None:
    op.drop_table("model_performance")
    op.drop_index("ix_prediction_snapshots_model_version", table_name="prediction_snapshots")
    op.drop_table("prediction_snapshots")
