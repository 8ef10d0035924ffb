"""The database connection: SQLite (the embedded default) or PostgreSQL, and its transactions.

Every write goes through `Database.transact`, one transaction that either commits whole or
leaves nothing behind. How concurrent writers are kept from losing updates differs by backend:

- SQLite: a write transaction starts with `BEGIN IMMEDIATE`, taking the database's write lock
  at once, so two writers never interleave (a deferred transaction could read, then fail to
  upgrade its lock). Writers of one process also queue on a Python lock first, which hands
  over faster than SQLite's sleeping busy handler; other processes wait up to busy_timeout.
- PostgreSQL: transactions run at READ COMMITTED and lock the lead rows they rescore
  (`SELECT … FOR UPDATE`); a deadlock, a serialisation failure or a connection the server
  dropped is retried a few times.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import sqlalchemy
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.sql.dml import Insert

from leadscore.settings import Settings
from leadscore.store import sqlite_wal
from leadscore.store.sqlite_wal import Checkpointer

JITTER = random.Random()
"""Our own generator for retry jitter: threads that wait never touch the global `random`
state that user code (or a test framework) may have seeded."""

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")

Row: TypeAlias = sqlalchemy.Row[*tuple[Any, ...]]
"""A row of any query: its columns are read by name (`row.score`), as the query chose them."""

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x1EAD5C0E
"""PostgreSQL advisory lock key held while migrating, so that processes starting together
migrate one after the other."""
RETRIES = 8
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


class Database:
    """An engine plus the transaction discipline above."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.is_sqlite = self.url.startswith("sqlite")
        self.is_postgres = self.url.startswith("postgresql")
        self._statements: dict[tuple[str, tuple[str | None, ...]], Insert] = {}
        self._checkpointer: Checkpointer | None = None
        if self.is_sqlite:
            path = make_url(self.url).database
            if sqlite_wal.is_file(path):
                assert path is not None  # is_file says so
                self._checkpointer = Checkpointer(path)
            self.engine = _sqlite_engine(settings, self._checkpointer is not None)
            self._write_lock: threading.Lock | None = threading.Lock()
        else:
            self.engine = create_engine(
                self.url,
                pool_size=settings.pool_size,
                max_overflow=settings.pool_size * 2,
                pool_recycle=1800,
            )  # no pre-ping (a round trip per transaction): `transact` retries on a dead one
            self._write_lock = None

    def checkpoint_truncate(self, attempts: int = 50) -> tuple[int, int, int] | None:
        """SQLite: copy the whole log into the database file and truncate the log to zero
        bytes (after an erasure, so that no old page of it keeps erased data). Retried while
        readers hold old snapshots; (busy, log pages, pages checkpointed) of the last try, or
        None on PostgreSQL. Runs beside the `Checkpointer` thread (SQLite serialises them)."""
        if not self.is_sqlite:
            return None
        row: tuple[int, int, int] = (1, -1, -1)
        for _ in range(attempts):
            raw = self.engine.raw_connection()  # no BEGIN: a checkpoint runs outside one
            try:
                cursor = raw.cursor()
                found = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                cursor.close()
            finally:
                raw.close()
            row = (int(found[0]), int(found[1]), int(found[2]))
            if row[0] == 0:
                return row
            time.sleep(0.02)
        return row

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    # --- transactions ------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction that sees one consistent snapshot on both databases.

        PostgreSQL's default (read committed) gives each statement its own snapshot, so a page
        and the counts beside it could disagree; repeatable read never fails a transaction that
        only reads.
        """
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: commits on success, rolls back on any exception."""
        if self._checkpointer is not None:
            self._checkpointer.start()  # the log is checkpointed beside the writers
        with self._write_lock or nullcontext(), self.engine.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def transact(self, work: Callable[[Connection], T]) -> T:
        """Run `work(conn)` in a write transaction, retrying it after a transient conflict.

        `work` may run more than once, so it must not change anything outside the database.
        """
        for attempt in range(RETRIES):
            try:
                with self.write() as conn:
                    return work(conn)
            except DBAPIError as exc:
                if attempt == RETRIES - 1 or not self._transient(exc):
                    raise
            time.sleep(JITTER.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    def _transient(self, exc: DBAPIError) -> bool:
        """A conflict worth retrying, or a pooled connection the server closed (a restart)."""
        if exc.connection_invalidated:
            return True
        return getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES

    # --- dialect helpers ---------------------------------------------------------------

    def insert_ignore(
        self,
        table: Table,
        returning: ColumnElement[Any] | Sequence[ColumnElement[Any]] | None = None,
    ) -> Insert:
        """INSERT … ON CONFLICT DO NOTHING [RETURNING columns]: a row that repeats a unique
        key is skipped. Built once per table (statement building costs on hot paths)."""
        columns = () if returning is None else _columns(returning)
        key = (table.name, tuple(c.key for c in columns))
        statement = self._statements.get(key)
        if statement is None:
            dialect = sqlite if self.is_sqlite else postgresql
            statement = dialect.insert(table).on_conflict_do_nothing()
            if columns:
                statement = statement.returning(*columns)
            self._statements[key] = statement
        return statement

    def analyze(self, tables: Sequence[str]) -> None:
        """Refresh PostgreSQL's statistics of tables that just grew a lot (a first CRM sync):
        plans prepared while a table was empty would go on scanning it whole. Autovacuum does
        this a minute later, when it is on; SQLite needs nothing."""
        if not self.is_postgres:
            return
        with self.engine.connect() as conn:
            conn.execute(text("ANALYZE " + ", ".join(f'"{t}"' for t in tables)))
            conn.commit()

    # --- schema ------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to call from processes at once)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if self.is_postgres:
                    lock = text("SELECT pg_advisory_xact_lock(:key)")
                    conn.execute(lock, {"key": MIGRATION_LOCK})
                config.attributes["connection"] = conn
                command.upgrade(config, "head")


SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached or is too busy now, rather than that
    a statement is wrong: a connection refused or lost (a restart, an outage), the server
    shutting down, no pooled connection free in time, SQLite's lock held past busy_timeout.
    The API answers these with 503 and Retry-After (api/errors.py): retrying later helps."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if type(exc).__module__ == "sqlite3":
        return any(busy in str(exc) for busy in SQLITE_BUSY)
    return any(  # psycopg's OperationalError: connection failures, shutdown, resources
        cls.__name__ == "OperationalError" and cls.__module__.startswith("psycopg")
        for cls in type(exc).__mro__
    )


def insert_ignore(conn: Connection, table: Table) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING in the connection's dialect, for the queries that get
    a connection without its `Database` (the automation worker's actions)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _columns(
    returning: ColumnElement[Any] | Sequence[ColumnElement[Any]],
) -> tuple[ColumnElement[Any], ...]:
    return tuple(returning) if isinstance(returning, Sequence) else (returning,)


def _sqlite_engine(settings: Settings, own_checkpoints: bool) -> Engine:
    """`own_checkpoints`: a `sqlite_wal.Checkpointer` checkpoints the log, so commits do not
    (store/sqlite_wal.py)."""
    engine = create_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size * 2,
        connect_args={"check_same_thread": False},
    )
    pragmas = (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA busy_timeout={settings.sqlite_busy_timeout_ms}",
        "PRAGMA foreign_keys=ON",
        # Deleted content is overwritten with zeros, not left in free space (GDPR erasure,
        # docs/privacy.md); ingest costs the same (a freed cell is rare on that path).
        "PRAGMA secure_delete=ON",
        f"PRAGMA synchronous={settings.sqlite_synchronous}",
        *(("PRAGMA wal_autocheckpoint=0",) if own_checkpoints else ()),
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
