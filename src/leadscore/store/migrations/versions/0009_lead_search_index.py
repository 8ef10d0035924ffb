"""A trigram index for the dashboard's search of leads (issue 13), on PostgreSQL.

The search looks for text anywhere in a lead's e-mail, first and last name and company
(`store.tables.search_sql`): a B-tree cannot serve `ILIKE '%text%'`, a pg_trgm GIN index can.
The extension is trusted (PostgreSQL 13+), so the database's owner may create it. Where it
cannot be created the migration goes on without the index and the search scans (as on
SQLite, which has no such index): slower at a million leads, still correct.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from leadscore.store.tables import search_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
INDEX = "ix_leads_search"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    installed = bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))
    if not installed:
        try:  # in a savepoint: a refusal must not abort the migration's transaction
            with bind.begin_nested():
                bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except sa.exc.DBAPIError as exc:
            log.warning("no pg_trgm (%s): the leads search will scan", exc.orig)
            return
    bind.execute(
        sa.text(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON leads"
            f" USING gin ({search_sql('postgresql')} gin_trgm_ops)"
        )
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(f"DROP INDEX IF EXISTS {INDEX}"))
