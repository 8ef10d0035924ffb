"""The dashboard's list of leads at a million leads (issue 13): a search index, and the
value filters in score order.

The search looks for text anywhere in a lead's e-mail, first and last name and company
(`store.tables.search_sql`); a B-tree cannot serve it.
- PostgreSQL: a pg_trgm GIN index on that expression (`ix_leads_search`). The extension is
  trusted (PostgreSQL 13+), so the database's owner may create it; where it cannot be
  created the migration goes on without the index and the search scans.
- SQLite: an FTS5 table with the trigram tokenizer (`leads_search`, rowid = the lead's pk),
  kept by triggers on the leads' insert, change of e-mail or attributes, and delete. It
  serves `LIKE '%text%'` for text of three characters or more.

The stage, owner and source indexes become (column, score, pk), and tier gets one: a filter
on one of them then reads its first page straight from the index in score order instead of
sorting every match (a quarter of a million rows for a common stage).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from leadscore.store.tables import SEARCH_TABLE, search_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
INDEX = "ix_leads_search"
SORTED = ("stage", "owner", "source", "tier")


def upgrade() -> None:
    for column in SORTED:
        if column != "tier":
            op.drop_index(f"ix_leads_{column}", "leads")
        op.create_index(f"ix_leads_{column}_score_pk", "leads", [column, "score", "pk"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _trigram_index(bind)
    else:
        _fts_table(bind)


def _trigram_index(bind: sa.Connection) -> None:
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


def _fts_table(bind: sa.Connection) -> None:
    new, old = search_sql("sqlite", "new"), search_sql("sqlite", "old")
    statements = [
        # No positions nor sizes (detail none, columnsize 0): a third of the work on each
        # insert; a LIKE still finds its candidates by trigram and checks each one.
        f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5("
        "text, tokenize = 'trigram', detail = 'none', columnsize = 0)",
        f"INSERT INTO {SEARCH_TABLE} (rowid, text) SELECT pk, {search_sql('sqlite')} FROM leads",
        f"""CREATE TRIGGER {SEARCH_TABLE}_insert AFTER INSERT ON leads BEGIN
              INSERT INTO {SEARCH_TABLE} (rowid, text) VALUES (new.pk, {new});
            END""",
        f"""CREATE TRIGGER {SEARCH_TABLE}_update AFTER UPDATE OF email, attributes ON leads
            WHEN {new} IS NOT {old} BEGIN
              UPDATE {SEARCH_TABLE} SET text = {new} WHERE rowid = new.pk;
            END""",
        f"""CREATE TRIGGER {SEARCH_TABLE}_delete AFTER DELETE ON leads BEGIN
              DELETE FROM {SEARCH_TABLE} WHERE rowid = old.pk;
            END""",
    ]
    for statement in statements:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(sa.text(f"DROP INDEX IF EXISTS {INDEX}"))
    else:
        for trigger in ("insert", "update", "delete"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {SEARCH_TABLE}_{trigger}")
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
    for column in SORTED:
        op.drop_index(f"ix_leads_{column}_score_pk", "leads")
        if column != "tier":
            op.create_index(f"ix_leads_{column}", "leads", [column])
