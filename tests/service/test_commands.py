"""The live service's commands (cli/service.py), run in this process; `serve` in a real one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from leadscore.cli import app
from leadscore.service import keys, queries, users
from leadscore.service.context import Context
from leadscore.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "b2b-saas.yaml"


@pytest.fixture
def run(database_url):
    runner = CliRunner()

    def invoke(*args: str | Path):
        return runner.invoke(
            app, [str(a) for a in args], env={"LEADSCORE_DATABASE_URL": database_url}
        )

    return invoke


def demo_password(stdout: str) -> str:
    """The demo user's password from init-demo's line
    `Dashboard: http://127.0.0.1:8000/  login demo@leadscore.local / PASSWORD`."""
    line = next(x for x in stdout.splitlines() if x.startswith("Dashboard: "))
    assert line.startswith("Dashboard: http://127.0.0.1:8000/  login demo@leadscore.local / ")
    return line.rsplit(" / ", 1)[1]


def open_ctx(database_url: str) -> Context:
    return Context.open(Settings(database_url=database_url))


def test_apikey_create_prints_the_key_last(run, database_url) -> None:
    result = run("apikey", "create", "--name", "crm", "--scopes", "read,write")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    with open_ctx(database_url) as ctx:
        principal = keys.authenticate(ctx, key)
    assert principal.name == "crm" and principal.scopes == {"read", "write"}
    assert run("apikey", "create", "--name", "crm").exit_code == 2  # names are unique
    assert run("apikey", "create", "--name", "x", "--scopes", "root").exit_code == 2
    assert "crm" in run("apikey", "list").stdout
    assert run("apikey", "revoke", "--name", "crm").exit_code == 0
    with open_ctx(database_url) as ctx:
        assert keys.authenticate(ctx, key) is None


def test_model_commands(run, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("fit:\n  weight: 2\n  max: 10\nengagement: {weight: 0, max: 1}\n")
    result = run("model", "upload", bad)
    assert result.exit_code == 2
    assert f"{bad}: fit.weight: must be between 0 and 1" in result.stderr
    assert "(line 2)" in result.stderr
    assert run("model", "upload", EXAMPLE, "--activate").exit_code == 0
    assert run("model", "upload", EXAMPLE).exit_code == 0
    assert run("model", "activate", "2").exit_code == 0
    rolled = run("model", "rollback", "2")
    assert rolled.exit_code == 0 and "rolled back to version 1" in rolled.stdout
    listing = run("model", "list").stdout
    assert "b2b-saas" in listing and "yes" in listing
    assert run("model", "activate", "9").exit_code == 2


def test_import_and_recompute(run, database_url, tmp_path) -> None:
    assert run("model", "upload", EXAMPLE, "--activate").exit_code == 0
    leads = tmp_path / "leads.csv"
    leads.write_text("Key,Mail,industry\nL1,a@x.io,saas\nL2,b@,saas\n")
    bad = run("import", "leads", leads, "--map", "id=Key", "--map", "email=Mail")
    assert bad.exit_code == 2
    assert f"invalid: {leads}: line 3: email" in bad.stderr
    good = run("import", "leads", leads, "--map", "id=Key", "--map", "email=Mail", "--skip-invalid")
    assert good.exit_code == 0 and "imported 1 leads from 2 rows, 1 skipped" in good.stdout
    events = tmp_path / "events.csv"
    events.write_text("lead_id,type,occurred_at\nL1,demo_booked,2025-12-01T00:00:00Z\n")
    assert run("import", "events", events).exit_code == 0
    result = run("recompute", "--as-of", "2025-12-02")
    assert result.exit_code == 0 and "recomputed 1 leads: 1 changed" in result.stdout
    with open_ctx(database_url) as ctx:
        assert queries.get_lead(ctx, "L1")["engagement"] == 50.0
    assert run("recompute", "--as-of", "tomorrow").exit_code == 2
    assert run("import", "leads", tmp_path / "none.csv").exit_code == 2


def test_init_demo_loads_data_and_prints_an_admin_key(run, database_url) -> None:
    result = run("init-demo", "--leads", "120", "--model", EXAMPLE)
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    password = demo_password(result.stdout)
    with open_ctx(database_url) as ctx:
        assert keys.authenticate(ctx, key).allows("admin")
        assert users.log_in(ctx, "demo@leadscore.local", password) is not None
        page = queries.list_leads(ctx, queries.LeadFilters(), limit=500)
    assert len(page["data"]) == 120 and all(lead["score"] is not None for lead in page["data"])
    # Run again (make run twice): one demo key works at a time, the previous is revoked.
    with open_ctx(database_url) as ctx:
        keys.create_key(ctx, "ops", "read")  # not the demo's: left alone
    for _ in range(2):
        again = run("init-demo", "--model", EXAMPLE)
        assert again.exit_code == 0 and "already set up" in again.stdout
        new_key = again.stdout.strip().splitlines()[-1]
        assert new_key != key and "revoked the previous demo admin key" in again.stdout
        new_password = demo_password(again.stdout)
        with open_ctx(database_url) as ctx:
            assert keys.authenticate(ctx, key) is None
            assert users.log_in(ctx, "demo@leadscore.local", password) is None
            assert users.log_in(ctx, "demo@leadscore.local", new_password) is not None
            assert keys.authenticate(ctx, new_key).allows("admin")
            active = [k["name"] for k in keys.list_keys(ctx) if not k["revoked"]]
        assert len(active) == 2 and "ops" in active
        assert next(a for a in active if a != "ops").startswith("demo-admin")
        key, password = new_key, new_password


def test_serve_runs_migrations_and_answers(database_url, tmp_path) -> None:
    # A real process: uvicorn serves until it is stopped by a signal.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LEADSCORE_DATABASE_URL": database_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "leadscore.cli", "serve", "--port", str(port), "--no-scheduler"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/health")
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.1)
        assert response.json()["status"] == "ok"
    finally:
        server.terminate()
        server.wait(10)
        server.stdout.close()
