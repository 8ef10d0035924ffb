"""`leadscore gdpr export`, `erase` and `vacuum` on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from tests.api.conftest import database_url, postgres_url, sqlite_url
from tests.gdpr.conftest import EMAIL, FIRST
from typer.testing import CliRunner

from leadscore.cli import app
from leadscore.service.context import Context
from leadscore.service.inputs import LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.settings import Settings
from leadscore.testing import scratch

__all__ = ["database_url", "postgres_url", "sqlite_url"]


@pytest.fixture
def lead_id(database_url: str) -> str:
    ctx = Context.open(Settings(database_url=database_url))
    try:
        scratch.empty(ctx.db)
        item = LeadIn.model_validate({"email": EMAIL, "attributes": {"first_name": FIRST}})
        return upsert_leads(ctx, [item], "test")[0][0].lead_id
    finally:
        ctx.close()


def test_export_erase_and_vacuum(database_url: str, lead_id: str, tmp_path) -> None:
    runner = CliRunner()
    env = {"LEADSCORE_DATABASE_URL": database_url, "COLUMNS": "200"}

    def run(*args: str):
        return runner.invoke(app, ["gdpr", *args], env=env)

    out = tmp_path / "export.json"
    done = run("export", EMAIL, "--out", str(out))
    assert done.exit_code == 0, done.output
    document = json.loads(out.read_text())
    assert document["format_version"] == 1 and document["lead"]["id"] == lead_id

    refused = run("erase", lead_id)
    assert refused.exit_code == 2 and "--yes" in refused.output
    erased = run("erase", lead_id, "--yes")
    assert erased.exit_code == 0, erased.output
    report = json.loads(erased.stdout)
    assert report["removed"]["leads"] == 1 and report["vacuum_needed"] is False
    assert ("vacuum" in report) == database_url.startswith("postgresql")

    gone = run("export", lead_id)
    assert gone.exit_code == 2 and "no lead" in gone.output
    vacuumed = run("vacuum")
    assert vacuumed.exit_code == 0, vacuumed.output
    assert json.loads(vacuumed.stdout)["seconds"] >= 0
