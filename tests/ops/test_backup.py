"""`leadscore backup` and `restore` on SQLite while a real server ingests events; the
pg_dump/pg_restore round trip docs/operations.md documents for PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import POSTGRES_URL, Api, running
from tests.conftest import skip_or_fail
from typer.testing import CliRunner

from leadscore.cli.app import app
from leadscore.service import backup as backups
from leadscore.settings import Settings
from leadscore.testing import scratch

COUNTING = """
name: count
combine: sum
fit: {max: 1, rules: []}
engagement:
  max: 1000000
  rules:
    - {id: ping, event: ping, points: 1}
"""
"""Each event is one point: a lead's score is the number of its events, so a snapshot
that held an event without its rescore (or the reverse) shows as a mismatch."""

LEADS = [f"lead-{n}" for n in range(8)]


def _snapshot(path: Path) -> dict[str, tuple[float, int]]:
    """lead id → (stored score, events held) as the file at `path` holds them."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT l.id, l.score, (SELECT count(*) FROM events e WHERE e.lead_pk = l.pk)"
            " FROM leads l"
        ).fetchall()
        orphans = conn.execute(
            "SELECT count(*) FROM events e WHERE NOT EXISTS"
            " (SELECT 1 FROM leads l WHERE l.pk = e.lead_pk)"
        ).fetchone()[0]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert orphans == 0
    return {lead: (score, events) for lead, score, events in rows}


def _ingest(api: Api, stop: threading.Event, acknowledged: list[int]) -> None:
    """Post batches of events for the leads until stopped; count what was acknowledged."""
    n = 0
    with httpx.Client(base_url=api.server.base_url + "/api/v1", timeout=60) as client:
        client.headers["Authorization"] = f"Bearer {api.keys['write']}"
        while not stop.is_set():
            batch = [{"lead_id": LEADS[(n + k) % len(LEADS)], "type": "ping"} for k in range(3)]
            response = client.post("/events", json={"events": batch})
            assert response.status_code == 200, response.text
            n += 1
            acknowledged.append(response.json()["stored"])


def test_backup_while_ingesting_then_restore_and_serve(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    settings = Settings(database_url=f"sqlite:///{source}", api_key_cache_seconds=0)
    copy = tmp_path / "backup.db"
    with running(settings) as server:
        api = Api(server)
        api.model(COUNTING)
        for lead in LEADS:
            api.lead(id=lead)
        stop, acknowledged = threading.Event(), []
        writer = threading.Thread(target=_ingest, args=(api, stop, acknowledged))
        writer.start()
        try:
            while sum(acknowledged) < 150:
                assert writer.is_alive(), "the ingesting thread failed"
                time.sleep(0.01)
            before = sum(acknowledged)
            done = CliRunner().invoke(
                app, ["backup", str(copy)], env={"LEADSCORE_DATABASE_URL": f"sqlite:///{source}"}
            )
            after_backup = sum(acknowledged)
            time.sleep(0.2)  # the server goes on writing after the backup
        finally:
            stop.set()
            writer.join(30)
        api.close()
        read_key = api.keys["read"]
        assert done.exit_code == 0, done.output
        assert f"to {copy}" in done.output
        backed_up = _snapshot(copy)
        held = sum(events for _, events in backed_up.values())
        # what was acknowledged before the backup began is in it; it is one moment's state
        assert before <= held <= after_backup + 3
        assert held < sum(acknowledged), "the server wrote nothing after the backup"
        assert set(backed_up) == set(LEADS)
        for lead, (score, events) in backed_up.items():
            assert score == events, f"{lead}: score {score} with {events} events"

    restored = tmp_path / "restored.db"
    target = Settings(database_url=f"sqlite:///{restored}", api_key_cache_seconds=0)
    copied = backups.restore(target, copy)
    assert (copied.leads, copied.events) == (len(LEADS), held)
    with running(target) as server, _reader(server.base_url, read_key) as reader:
        for lead, (score, events) in backed_up.items():  # the keys came back too
            assert reader.get(f"/leads/{lead}").json()["score"] == score
            assert _count_events(reader, lead) == events
    assert _snapshot(restored) == backed_up


def test_restore_refuses_a_live_database_without_force_and_foreign_files(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    settings = Settings(database_url=f"sqlite:///{live}", api_key_cache_seconds=0)
    with running(settings) as server:
        api = Api(server)
        try:
            api.model(COUNTING)
            api.lead(id="a")
            api.event(lead_id="a", type="ping")
        finally:
            api.close()
    empty = tmp_path / "empty.db"
    with running(Settings(database_url=f"sqlite:///{empty}")):
        pass  # migrated, no leads
    copy = tmp_path / "empty-backup.db"
    backups.backup(Settings(database_url=f"sqlite:///{empty}"), copy)

    env = {"LEADSCORE_DATABASE_URL": f"sqlite:///{live}"}
    refused = CliRunner().invoke(app, ["restore", str(copy)], env=env)
    assert refused.exit_code == 2
    assert "holds 1 leads and 1 events" in refused.output and "--force" in refused.output
    assert _snapshot(live)["a"] == (1.0, 1)  # nothing written

    forced = CliRunner().invoke(app, ["restore", str(copy), "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    assert _snapshot(live) == {}

    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    done = CliRunner().invoke(app, ["restore", str(text)], env=env)
    assert done.exit_code == 2 and "not an SQLite database file" in done.output

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    done = CliRunner().invoke(app, ["restore", str(other)], env=env)
    assert done.exit_code == 2 and "not a leadscore database" in done.output

    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    done = CliRunner().invoke(app, ["restore", str(copy)], env=env)
    assert done.exit_code == 2 and "('9999_from_the_future') is not one this version knows" in (
        done.output
    )


def test_postgres_is_refused_with_the_commands_to_use(tmp_path: Path) -> None:
    env = {"LEADSCORE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    for args in (["backup", str(tmp_path / "x")], ["restore", str(tmp_path / "x")]):
        done = CliRunner().invoke(app, args, env=env)
        assert done.exit_code == 2
        assert "pg_dump -Fc" in done.output and "pg_restore" in done.output
    assert not (tmp_path / "x").exists()


def test_backup_errors_are_named(tmp_path: Path) -> None:
    env = {"LEADSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    done = CliRunner().invoke(app, ["backup", str(tmp_path / "b.db")], env=env)
    assert done.exit_code == 2 and "none.db: no such database file" in done.output
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    env = {"LEADSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'junk.db'}"}
    done = CliRunner().invoke(app, ["backup", str(tmp_path / "b.db")], env=env)
    assert done.exit_code == 2 and "the backup failed" in done.output
    done = CliRunner().invoke(app, ["backup", str(tmp_path / "no" / "b.db")], env=env)
    assert done.exit_code == 2 and "does not exist" in done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.db"]


@pytest.mark.postgres
def test_pg_dump_and_pg_restore_round_trip(tmp_path: Path) -> None:
    """The commands docs/operations.md gives, run against scratch databases."""
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        skip_or_fail("pg_dump/pg_restore are not installed (Debian: postgresql-client)")
    try:
        with (
            scratch.scratch_postgres(POSTGRES_URL) as source,
            scratch.scratch_postgres(POSTGRES_URL) as target,
        ):
            settings = Settings(database_url=source, api_key_cache_seconds=0)
            with running(settings) as server:
                api = Api(server)
                api.model(COUNTING)
                for lead in LEADS[:3]:
                    api.lead(id=lead)
                    for _ in range(2):
                        api.event(lead_id=lead, type="ping")
                api.close()
                read_key = api.keys["read"]
            dump = tmp_path / "leadscore.dump"
            libpq = {**os.environ}
            _run(["pg_dump", "-Fc", "--no-owner", "-d", _libpq(source), "-f", str(dump)], libpq)
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--clean",
                    "--if-exists",
                    "-d",
                    _libpq(target),
                    str(dump),
                ],
                libpq,
            )
            restored = Settings(database_url=target, api_key_cache_seconds=0)
            with running(restored) as server, _reader(server.base_url, read_key) as reader:
                for lead in LEADS[:3]:
                    assert reader.get(f"/leads/{lead}").json()["score"] == 2
                    assert _count_events(reader, lead) == 2
    except scratch.Unavailable as exc:
        skip_or_fail(str(exc))


def _reader(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=60
    )


def _count_events(reader: httpx.Client, lead: str) -> int:
    """The lead's events as the API lists them, every page."""
    count, cursor = 0, None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = reader.get(f"/leads/{lead}/events", params=params)
        assert page.status_code == 200, page.text
        count += len(page.json()["data"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return count


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it (no +driver)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
