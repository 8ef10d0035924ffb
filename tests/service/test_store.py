"""The store: migrations build exactly the tables of `store/tables.py`, rerun harmlessly,
undo cleanly, and SQLite runs with WAL, a busy timeout and foreign keys."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, text

from leadscore.service import leads as upserts
from leadscore.service.context import Context
from leadscore.service.inputs import LeadIn
from leadscore.settings import Settings, normalise_database_url
from leadscore.store.database import MIGRATIONS
from leadscore.store.tables import SEARCH_TABLE, leads, metadata, search_sql

SEARCH_INDEX = "ix_leads_search"


def _compared(conn):
    """Alembic's comparison, but for the expression index of the leads search (migration
    0009), which it cannot compare: test_the_search_index_serves_the_search checks it."""
    migration = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "include_name": lambda name, kind, parent: (
                name != SEARCH_INDEX and not str(name).startswith(SEARCH_TABLE)
            ),
        },
    )
    return compare_metadata(migration, metadata)


def test_migrations_match_the_tables_and_rerun_harmlessly(ctx) -> None:
    ctx.db.migrate()
    with ctx.db.engine.connect() as conn:
        assert _compared(conn) == []
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0013"


def test_migrations_downgrade_to_nothing_and_upgrade_again(ctx) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with ctx.db.engine.connect() as conn, conn.begin():
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert inspect(ctx.db.engine).get_table_names() == ["alembic_version"]
    ctx.db.migrate()
    with ctx.db.engine.connect() as conn:
        assert _compared(conn) == []


def test_the_search_index_serves_the_search(ctx) -> None:
    """On PostgreSQL the dashboard's search of e-mail, name and company is served by the
    trigram index (with sequential scans off, as on a big table); on SQLite by the FTS5
    table, which triggers keep as leads are added, changed and deleted."""
    if not ctx.db.is_postgres:
        upserts.upsert_leads(
            ctx, [LeadIn(id="a", email="ana@x.io", attributes={"last_name": "Łukasiewicz"})], "t"
        )
        with ctx.db.read() as conn:
            text_of = f"SELECT text FROM {SEARCH_TABLE} WHERE rowid = (SELECT pk FROM leads)"
            assert conn.scalar(text(text_of)) == "ana@x.io  Łukasiewicz "
        upserts.upsert_leads(ctx, [LeadIn(id="a", attributes={"company": "Nova"})], "t")
        with ctx.db.read() as conn:
            assert conn.scalar(text(text_of)) == "ana@x.io  Łukasiewicz Nova"
            plan = conn.execute(text(f"EXPLAIN QUERY PLAN SELECT rowid FROM {SEARCH_TABLE}"
                                     f" WHERE text LIKE '%nov%'")).all()  # fmt: skip
            assert any("VIRTUAL TABLE INDEX" in str(row) for row in plan)
        ctx.db.transact(lambda conn: conn.execute(leads.delete()))
        with ctx.db.read() as conn:
            assert conn.scalar(text(f"SELECT count(*) FROM {SEARCH_TABLE}")) == 0
        return
    with ctx.db.read() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = conn.execute(
            text(f"EXPLAIN SELECT pk FROM leads WHERE {search_sql('postgresql')} ILIKE :p"),
            {"p": "%kowal%"},
        ).scalars()
        assert any(SEARCH_INDEX in line for line in plan)


def test_sqlite_pragmas(tmp_path) -> None:
    from leadscore.service.context import Context

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")
    with Context.open(settings) as ctx, ctx.db.read() as conn:
        assert conn.scalar(text("PRAGMA journal_mode")) == "wal"
        assert conn.scalar(text("PRAGMA foreign_keys")) == 1
        assert conn.scalar(text("PRAGMA busy_timeout")) == 10_000


def test_postgres_urls_use_psycopg() -> None:
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert Settings(database_url="postgres://h/db").database_url.startswith("postgresql+psycopg")


def test_a_connection_the_server_dropped_is_retried(ctx) -> None:
    if not ctx.db.is_postgres:
        return  # SQLite has no server to drop connections
    with ctx.db.read() as conn:
        pid = conn.scalar(text("SELECT pg_backend_pid()"))
    admin = create_engine(ctx.db.url)  # not from the pool, which holds the victim
    with admin.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.commit()
    admin.dispose()
    assert ctx.db.transact(lambda conn: conn.scalar(text("SELECT 42"))) == 42


def test_a_read_sees_one_snapshot_while_others_commit(ctx) -> None:
    """A page and the counts beside it come from one read: a row another connection commits
    between the two statements must not show in the second (PostgreSQL's read committed
    default would show it)."""
    upserts.upsert_leads(ctx, [LeadIn(id="first")], "test")
    with ctx.db.read() as conn:
        before = conn.execute(select(func.count()).select_from(leads)).scalar_one()
        other = Context.open(ctx.settings)
        try:
            upserts.upsert_leads(other, [LeadIn(id="second")], "test")
        finally:
            other.close()
        again = conn.execute(select(func.count()).select_from(leads)).scalar_one()
    assert before == again == 1
    with ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(leads)).scalar_one() == 2
