"""A migrated store per test: an SQLite file, or (marked postgres) a scratch PostgreSQL
database emptied before each test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tests.conftest import skip_or_fail

from leadscore.service.context import Context
from leadscore.settings import Settings
from leadscore.testing import scratch

POSTGRES_URL = os.environ.get(
    "LEADSCORE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    try:
        with scratch.scratch_postgres(POSTGRES_URL) as url:
            yield url
    except scratch.Unavailable as exc:
        skip_or_fail(f"{exc} (set LEADSCORE_TEST_POSTGRES_URL)")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'leadscore.db'}"
    url = request.getfixturevalue("postgres_database")
    with Context.open(Settings(database_url=url)) as ctx:
        scratch.empty(ctx.db)
    return url


@pytest.fixture
def ctx(database_url: str) -> Iterator[Context]:
    context = Context.open(Settings(database_url=database_url))
    yield context
    context.close()
