"""A migrated store per test (SQLite file, or a scratch PostgreSQL database)."""

from __future__ import annotations

from tests.service.conftest import ctx, database_url, postgres_database

__all__ = ["ctx", "database_url", "postgres_database"]
