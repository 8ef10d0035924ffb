"""A migrated store per test (SQLite file, or a scratch PostgreSQL database) and the real
receivers (HTTP, SMTP) of the delivery tests."""

from __future__ import annotations

from tests.delivery.conftest import receiver, smtp_server, tls
from tests.service.conftest import ctx, database_url, postgres_database

__all__ = ["ctx", "database_url", "postgres_database", "receiver", "smtp_server", "tls"]
