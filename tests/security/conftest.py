"""A real server per backend with the security settings as shipped (a key is trusted for
LEADSCORE_API_KEY_CACHE_SECONDS after it is verified, failed authentications are limited),
and the API tests' clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.api.conftest import Api, Server, database_url, postgres_url, running, sqlite_url

from leadscore.service.context import wall_clock
from leadscore.settings import Settings
from leadscore.testing import scratch

__all__ = ["database_url", "postgres_url", "sqlite_url"]


@pytest.fixture(scope="session")
def shipped(database_url: str) -> Iterator[Server]:
    """The server with the default settings (the database aside)."""
    limit = Settings.model_fields["auth_fail_limit"].default
    with running(Settings(database_url=database_url, auth_fail_limit=limit)) as started:
        yield started


@pytest.fixture
def site(shipped: Server) -> Iterator[Api]:
    """Empty tables, fresh keys, forgotten failures (the context's caches)."""
    scratch.empty(shipped.ctx.db)
    shipped.ctx.reset_caches()
    shipped.ctx.clock = wall_clock
    clients = Api(shipped)
    yield clients
    clients.close()
