"""The lifecycle folded in event time (SPEC §4 order independence, docs/lifecycle.md).

Each lead keeps its lifecycle base (stage and time) and the stage folded over its event
times since (and the latest event time folded); a history row may name the back-dated event
that corrected a stage. Existing leads start from their current lifecycle stage, at the time
they were last scored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
COLUMNS = ("stage_base", "stage_base_at", "event_stage", "event_stage_at")


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("stage_base", sa.String(100)))
        batch.add_column(sa.Column("stage_base_at", sa.BigInteger()))
        batch.add_column(sa.Column("event_stage", sa.String(100)))
        batch.add_column(sa.Column("event_stage_at", sa.BigInteger()))
    with op.batch_alter_table("score_history") as batch:
        batch.add_column(sa.Column("cause_event", JSON))
    op.execute(
        "UPDATE leads SET stage_base = lifecycle_stage, event_stage = lifecycle_stage,"
        " stage_base_at = CASE WHEN lifecycle_stage IS NULL THEN NULL"
        " ELSE COALESCE(scored_at, updated_at) END,"
        " event_stage_at = CASE WHEN lifecycle_stage IS NULL THEN NULL"
        " ELSE COALESCE(scored_at, updated_at) END"
    )


def downgrade() -> None:
    with op.batch_alter_table("score_history") as batch:
        batch.drop_column("cause_event")
    with op.batch_alter_table("leads") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
