"""The automations commands (§6): validate with every error and its line, upload and activate,
simulate, the outbox and `leadscore worker --once`, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadscore.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def run(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def invoke(*args: str | Path):
        env = {
            "LEADSCORE_DATABASE_URL": url,
            "LEADSCORE_MAIL_DIR": str(tmp_path / "mail"),
            "COLUMNS": "200",
        }
        return runner.invoke(app, [str(a) for a in args], env=env)

    return invoke


def test_validate_reports_every_error_with_its_line(run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "automations:\n"
        "  - name: ok\n"
        "    when: {tier_changed: {to: hot}}\n"
        "    actions: [{notifyy: {email: {to: [a@b.co]}}}]\n"
        "  - name: ok\n"
        "    when: {score_crossed: {threshold: high}}\n"
        "    actions: [{webhook: {url: 'ftp://x', secret_env: lower}}]\n"
    )
    done = run("automations", "validate", bad)
    assert done.exit_code == 2
    lines = done.output.splitlines()
    assert any("automations[0].actions[0].notifyy" in x and "line 4" in x for x in lines)
    assert any("automations[1].when.score_crossed.threshold" in x and "line 6" in x for x in lines)
    assert any("automations[1].actions[0].webhook.url" in x for x in lines)
    assert any("automations[1].actions[0].webhook.secret_env" in x for x in lines)
    assert "did you mean 'notify'" in done.output
    assert run("automations", "validate", EXAMPLES / "automations.yaml").exit_code == 0


def test_upload_activate_simulate_and_deliver(run, tmp_path):
    assert run("model", "upload", EXAMPLES / "b2b-saas.yaml", "--activate").exit_code == 0
    # An assign_owner naming teams that do not exist yet cannot be activated.
    refused = run("automations", "upload", EXAMPLES / "automations.yaml", "--activate")
    assert refused.exit_code == 2 and "no team 'sales-cee'" in refused.output
    for owner, team in (("ann@x.co", "sales"), ("bob@x.co", "sales-cee")):
        assert run("owners", "add", owner, "--name", owner, "--email", owner).exit_code == 0
        assert run("teams", "create", team, "--member", owner).exit_code == 0
    done = run("automations", "upload", EXAMPLES / "automations.yaml", "--activate")
    assert done.exit_code == 0, done.output
    assert "version 1 (active)" in done.output  # the refused upload stored nothing
    listed = run("automations", "list")
    assert "hot-lead-alert" in listed.output
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "id,email,industry,employees,country,job_title\nL1,ceo@acme.com,software,5000,US,CEO\n"
    )
    events = tmp_path / "events.csv"
    events.write_text(
        "id,lead_id,type,occurred_at\n"
        "e1,L1,demo_booked,2026-12-01T10:00:00Z\n"
        "e2,L1,webinar_attended,2026-12-01T11:00:00Z\n"
    )
    assert run("import", "leads", leads).exit_code == 0
    assert run("import", "events", events).exit_code == 0
    report = json.loads(run("automations", "simulate", "--since", "3650d", "--json").output)
    fired = {a["name"]: a["fired"] for a in report["automations"]}
    assert fired["hot-lead-alert"] == 1 and fired["sql-assign-owner"] == 1
    worker = run("worker", "--once")
    assert worker.exit_code == 0, worker.output
    outbox = run("outbox", "list")
    assert "hot-lead-alert" in outbox.output and "delivered" in outbox.output
    assert "failed: 1" in outbox.output  # the demo webhook: its URL is not set here
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2  # the manager and the owner
    retried = run("outbox", "retry", "--all-failed")
    assert retried.exit_code == 0 and "1 rows will be retried" in retried.output
