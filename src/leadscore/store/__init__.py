"""The store: tables, migrations and the queries over them (SQLite or PostgreSQL).

`Connection` and `Row` are re-exported so that the use cases can name the store's types
without importing SQLAlchemy themselves.
"""

from sqlalchemy import Connection

from leadscore.store.database import Database, Row

__all__ = ["Connection", "Database", "Row"]
