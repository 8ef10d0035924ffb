"""GET /ready over a real socket: ready when the database answers at the newest migration;
503 with the reason when the schema is behind, or PostgreSQL refuses connections — and
ready again by itself once it accepts them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text
from tests.api.conftest import POSTGRES_URL, running
from tests.conftest import skip_or_fail

from leadscore.settings import Settings, normalise_database_url
from leadscore.store import schema_version
from leadscore.testing import scratch


def test_ready_then_not_when_the_schema_is_behind(tmp_path: Path) -> None:
    db = tmp_path / "ready.db"
    with running(Settings(database_url=f"sqlite:///{db}", worker_enabled=False)) as server:
        ready = httpx.get(server.base_url + "/ready")  # no key: orchestrators probe it
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        assert ready.headers["x-request-id"]

        older = schema_version.known()[-2]
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE alembic_version SET version_num = ?", (older,))
        behind = httpx.get(server.base_url + "/ready")
        assert behind.status_code == 503
        assert behind.json() == {
            "status": "not ready",
            "reason": f"the database schema is at migration {older}, not {schema_version.head()}",
        }
        # alive all the same: /health asks only that the database answers
        assert httpx.get(server.base_url + "/health").status_code == 200


@pytest.mark.postgres
def test_not_ready_while_postgres_refuses_connections_then_ready_again() -> None:
    try:
        with scratch.scratch_postgres(POSTGRES_URL) as url:
            name = make_url(url).database
            admin = create_engine(
                normalise_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT"
            )
            settings = Settings(database_url=url, worker_enabled=False, ready_timeout_seconds=5)
            try:
                with running(settings) as server:
                    assert httpx.get(server.base_url + "/ready").status_code == 200
                    with admin.connect() as conn:
                        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                        conn.execute(
                            text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                " WHERE datname = :name AND pid <> pg_backend_pid()"
                            ),
                            {"name": name},
                        )
                    for _ in range(2):  # the dropped pooled connection, then a refused one
                        down = httpx.get(server.base_url + "/ready", timeout=30)
                        assert down.status_code == 503, down.text
                        assert down.json()["status"] == "not ready"
                        assert down.json()["reason"].startswith("the database does not answer")
                    with admin.connect() as conn:
                        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
                    back = httpx.get(server.base_url + "/ready", timeout=30)
                    assert (back.status_code, back.json()) == (200, {"status": "ready"})
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
                admin.dispose()
    except scratch.Unavailable as exc:
        skip_or_fail(str(exc))
