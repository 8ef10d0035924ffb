"""A covering index for the analytics' counts of a period's leads by score and tier.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_leads_created_at_model_version_score_tier",
        "leads",
        ["created_at", "model_version", "score", "tier"],
    )


def downgrade() -> None:
    op.drop_index("ix_leads_created_at_model_version_score_tier", "leads")
