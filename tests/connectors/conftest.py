"""A database per test (SQLite file, or the scratch PostgreSQL database emptied), shared with
the service tests."""

from __future__ import annotations

from tests.service.conftest import ctx, database_url, postgres_database

__all__ = ["ctx", "database_url", "postgres_database"]
