"""The database unavailable for a while: PostgreSQL (a private cluster of this test, never
the shared server) is stopped for 3 s under load and started again. Meanwhile the API answers
503 with the error model and Retry-After, never 500; afterwards it recovers by itself, and no
acknowledged event is lost. And SQLite held locked past its busy timeout is a 503 as well."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.api.conftest import Api, running
from tests.conftest import skip_or_fail
from tests.reliability import harness, outage, stores

from leadscore.settings import Settings


@pytest.fixture
def private_postgres() -> Iterator[outage.PrivatePostgres]:
    binaries = outage.postgres_binaries()
    if binaries is None:
        skip_or_fail("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql")
    if os.geteuid() != 0:
        skip_or_fail("a private PostgreSQL cluster needs root (to run initdb as postgres)")
    assert binaries is not None
    folder = Path(tempfile.mkdtemp(prefix="leadscore-pg-"))
    pg = outage.PrivatePostgres(folder, binaries)
    try:
        yield pg
    finally:
        pg.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
def test_postgres_down_for_3_s_under_load_is_503_then_recovers_losing_nothing(
    private_postgres: outage.PrivatePostgres,
) -> None:
    url = private_postgres.url
    settings = Settings(database_url=url, api_key_cache_seconds=60, pool_size=4)
    with running(settings) as server:
        api = Api(server)
        try:
            api.model(stores.MODEL)
            harness.create_leads(server.base_url, api.keys["write"], 20)
            report = outage.outage(
                private_postgres, server.base_url, api.keys["write"], clients=4, outages=1
            )
            health = api.anon.get(server.base_url + "/health")
        finally:
            api.close()
    report.tally.count_stored(url)
    assert report.outages == 1
    assert report.answered_503 > 0, report.tally.statuses  # the outage was seen
    assert report.not_503 == {}, report.not_503  # no 500, nothing but 2xx and 503
    assert report.bad_503 == []  # each 503: the message, a request id, Retry-After
    assert set(report.health_down) == {503}
    assert health.status_code == 200  # recovered without restarting the API
    assert len(report.recover_seconds) == 1 and report.recover_seconds[0] < 10
    assert report.tally.lost == 0 and report.tally.duplicates == 0
    assert len(report.tally.acknowledged) > 0


def test_sqlite_locked_past_the_busy_timeout_is_503(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    with running(Settings(database_url=url, sqlite_busy_timeout_ms=200)) as server:
        api = Api(server)
        try:
            api.model(stores.MODEL)
            api.lead(id="L1")
            holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
            try:
                body = stores.event_body("e1", "L1", 0)
                busy = api.writer.post("/events", json=body)
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            again = api.writer.post("/events", json=body)
        finally:
            api.close()
    assert busy.status_code == 503, busy.text
    assert busy.json()["detail"] == "the database is unavailable; retry later"
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["request_id"] == busy.headers["x-request-id"]
    assert again.status_code == 201  # the same request later succeeds
    assert stores.stored_event_ids(url) == {"e1": 1}
