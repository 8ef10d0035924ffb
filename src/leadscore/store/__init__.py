"""The store: tables, migrations and the queries over them (SQLite or PostgreSQL)."""

from leadscore.store.database import Database

__all__ = ["Database"]
