"""`leadscore sync` and `leadscore connectors` (§8) on a real SQLite file against a local
Pipedrive over a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from leadscore.cli import app
from leadscore.testing.fakes.pipedrive import FakePipedrive


@pytest.fixture
def crm() -> Iterator[FakePipedrive]:
    with FakePipedrive() as fake:
        yield fake


@pytest.fixture
def run(tmp_path, crm):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    (tmp_path / "connectors.yaml").write_text(
        f"pipedrive:\n  base_url: {crm.url}\n  push: false\n", "utf-8"
    )
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None, key: str | None = "k" * 40):
        env = {
            "LEADSCORE_DATABASE_URL": url,
            "LEADSCORE_CONNECTORS_FILE": str(tmp_path / "connectors.yaml"),
            "COLUMNS": "200",
        }
        if key is not None:
            env["LEADSCORE_SECRET_KEY"] = key
        return runner.invoke(app, list(args), env=env, input=stdin)

    return invoke


def test_sync_with_a_secret_kept_in_the_database(run, crm) -> None:
    crm.add_person("ada@example.com", {"job_title": "CTO"})
    crm.add_person("bob@example.com", {"job_title": "Engineer"})
    missing = run("sync", "pipedrive")
    assert missing.exit_code == 2
    assert "LEADSCORE_PIPEDRIVE_API_TOKEN" in missing.output
    kept = run("connectors", "set-secret", "pipedrive", "api_token", stdin=crm.api_token + "\n")
    assert kept.exit_code == 0, kept.output
    assert crm.api_token not in kept.output
    done = run("sync", "pipedrive")
    assert done.exit_code == 0, done.output
    assert "created 2" in done.output and "read 2" in done.output
    again = run("sync", "pipedrive")
    assert "created" not in again.output, again.output
    shown = run("connectors", "show", "pipedrive")
    assert shown.exit_code == 0, shown.output
    state = json.loads(shown.output)
    assert state["records"] == {"persons": 2} and state["secrets"] == {"api_token": "database"}
    assert crm.api_token not in shown.output
    assert [r["status"] for r in state["runs"]] == ["ok", "ok", "failed"]
    listed = run("connectors", "list")
    assert "pipedrive" in listed.output and "persons 2" in listed.output


def test_a_secret_needs_the_key(run) -> None:
    refused = run("connectors", "set-secret", "pipedrive", "api_token", stdin="x\n", key=None)
    assert refused.exit_code == 2
    assert "LEADSCORE_SECRET_KEY" in refused.output


def test_validate_names_every_problem(run, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("hubspot:\n  pushh: true\n  sync_every: soon\n")
    done = run("connectors", "validate", str(bad))
    assert done.exit_code == 2
    assert "hubspot.pushh: unknown key 'pushh' (did you mean 'push'?) (line 2)" in done.output
    assert "hubspot.sync_every" in done.output and "(line 3)" in done.output
    good = run("connectors", "validate", str(tmp_path / "connectors.yaml"))
    assert good.exit_code == 0 and "valid (pipedrive)" in good.output


def test_an_unknown_connector_is_named(run) -> None:
    done = run("sync", "zoho")
    assert done.exit_code == 2 and "no connector 'zoho'" in done.output
    unconfigured = run("sync", "hubspot")
    assert unconfigured.exit_code == 2 and "not configured" in unconfigured.output
