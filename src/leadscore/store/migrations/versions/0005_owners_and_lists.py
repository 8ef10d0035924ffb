"""Owners, teams and lists (automations, SPEC §6: assign_owner, add_to_list, enroll).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "owners",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("capacity", sa.Integer()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_owners"),
        sa.UniqueConstraint("id", name="uq_owners_id"),
    )
    op.create_table(
        "teams",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("rr_last_owner", sa.Integer()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rr_last_owner"],
            ["owners.pk"],
            name="fk_teams_rr_last_owner_owners",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("pk", name="pk_teams"),
        sa.UniqueConstraint("name", name="uq_teams_name"),
    )
    op.create_table(
        "team_members",
        sa.Column("team_pk", sa.Integer(), nullable=False),
        sa.Column("owner_pk", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_pk"], ["owners.pk"], name="fk_team_members_owner_pk_owners", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team_pk"], ["teams.pk"], name="fk_team_members_team_pk_teams", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_pk", "owner_pk", name="pk_team_members"),
        sa.UniqueConstraint("team_pk", "position", name="uq_team_members_team_pk_position"),
    )
    op.create_index("ix_team_members_owner_pk", "team_members", ["owner_pk"])
    op.create_table(
        "lists",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_lists"),
        sa.UniqueConstraint("name", name="uq_lists_name"),
    )
    op.create_table(
        "list_members",
        sa.Column("list_pk", sa.Integer(), nullable=False),
        sa.Column("lead_pk", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_pk"], ["leads.pk"], name="fk_list_members_lead_pk_leads", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["list_pk"], ["lists.pk"], name="fk_list_members_list_pk_lists", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("list_pk", "lead_pk", name="pk_list_members"),
    )
    op.create_index("ix_list_members_lead_pk", "list_members", ["lead_pk"])
    op.create_index(
        "ix_list_members_list_pk_added_at_lead_pk",
        "list_members",
        ["list_pk", "added_at", "lead_pk"],
    )


def downgrade() -> None:
    op.drop_index("ix_list_members_list_pk_added_at_lead_pk", table_name="list_members")
    op.drop_index("ix_list_members_lead_pk", table_name="list_members")
    op.drop_table("list_members")
    op.drop_table("lists")
    op.drop_index("ix_team_members_owner_pk", table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("teams")
    op.drop_table("owners")
