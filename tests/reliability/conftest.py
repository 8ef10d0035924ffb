"""Stores for the failure tests: a new SQLite file, or (marked postgres) a new scratch
PostgreSQL database, per test and per name asked for (`store("a")`, `store("b")`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from tests.conftest import skip_or_fail

from leadscore.testing import scratch

POSTGRES_URL = os.environ.get(
    "LEADSCORE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """`store(name)`: the URL of an empty store of this test's backend."""
    with ExitStack() as stack:

        def new(name: str) -> str:
            if backend == "sqlite":
                return f"sqlite:///{tmp_path / name}.db"
            try:
                return stack.enter_context(scratch.scratch_postgres(POSTGRES_URL))
            except scratch.Unavailable as exc:
                skip_or_fail(f"{exc} (set LEADSCORE_TEST_POSTGRES_URL)")
                raise

        yield new
