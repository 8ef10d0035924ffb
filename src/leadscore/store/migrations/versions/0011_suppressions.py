"""GDPR erasure (issue 15): the suppressions of erased people and the salt of their hashes.

`suppressions` holds a keyed hash of each erased person's normalised e-mail and external ids
(never the values), so that a sync, import or form does not create the person again unless
they come back with new consent. `privacy_salt` is the hashes' key when no
LEADSCORE_SECRET_KEY is set: made on first use (store/suppressions.py).

On SQLite the lead search index (FTS5, migration 0009) keeps deleted text in its segments
until they are merged; its `secure-delete` option (SQLite 3.42+) removes it at once, so it
is switched on where the library has it (docs/privacy.md says what happens otherwise).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from leadscore.store.tables import SEARCH_TABLE

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(50), nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_suppressions"),
    )
    op.create_table(
        "privacy_salt",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_salt"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and _fts_secure_delete(bind):
        bind.exec_driver_sql(
            f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}, rank) VALUES ('secure-delete', 1)"
        )


def _fts_secure_delete(bind: sa.Connection) -> bool:
    """Whether this SQLite's FTS5 has the `secure-delete` option (3.42.0 and later)."""
    version = bind.exec_driver_sql("SELECT sqlite_version()").scalar_one()
    return tuple(int(p) for p in str(version).split(".")[:2]) >= (3, 42)


def downgrade() -> None:
    op.drop_table("privacy_salt")
    op.drop_table("suppressions")
