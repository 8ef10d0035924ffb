"""Website tracking (issue 17): anonymous visitors of tracked sites (`tracking_visitors`,
linked to their lead once identified, deleted with it) and the beacons of visitors not yet
identified (`tracking_events`), merged into the lead's events on identification.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tracking_visitors",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(63), nullable=False),
        sa.Column("visitor", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("lead_pk", sa.Integer(), nullable=True),
        sa.Column("identified_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_pk"], ["leads.pk"], name="fk_tracking_visitors_lead_pk_leads", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name="pk_tracking_visitors"),
        sa.UniqueConstraint("site", "visitor", name="uq_tracking_visitors_site_visitor"),
    )
    op.create_index("ix_tracking_visitors_lead_pk", "tracking_visitors", ["lead_pk"])
    op.create_index("ix_tracking_visitors_last_seen", "tracking_visitors", ["last_seen"])
    op.create_table(
        "tracking_events",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("visitor_pk", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("referrer", sa.Text(), nullable=True),
        sa.Column("properties", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["visitor_pk"],
            ["tracking_visitors.pk"],
            name="fk_tracking_events_visitor_pk_tracking_visitors",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name="pk_tracking_events"),
        sa.UniqueConstraint("event_id", name="uq_tracking_events_event_id"),
    )
    op.create_index("ix_tracking_events_visitor_pk", "tracking_events", ["visitor_pk"])


def downgrade() -> None:
    op.drop_index("ix_tracking_events_visitor_pk", table_name="tracking_events")
    op.drop_table("tracking_events")
    op.drop_index("ix_tracking_visitors_last_seen", table_name="tracking_visitors")
    op.drop_index("ix_tracking_visitors_lead_pk", table_name="tracking_visitors")
    op.drop_table("tracking_visitors")
