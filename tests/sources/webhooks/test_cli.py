"""`leadscore webhooks test`: a sample payload shown as what it would become, with a preset
or an endpoint of LEADSCORE_SOURCES_FILE; nothing written (no database is even opened)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadscore.cli import app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "webhooks"


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()
    database = tmp_path / "never.db"

    def invoke(*args: str, sources: str | None = None):
        env = {"LEADSCORE_DATABASE_URL": f"sqlite:///{database}", "COLUMNS": "200"}
        if sources is not None:
            (tmp_path / "sources.yaml").write_text(sources, "utf-8")
            env["LEADSCORE_SOURCES_FILE"] = str(tmp_path / "sources.yaml")
        result = runner.invoke(app, ["webhooks", "test", *args], env=env)
        assert not database.exists()  # nothing written, nothing opened
        return result

    return invoke


def test_a_preset_shows_the_submissions(run) -> None:
    result = run("--preset", "calendly", str(EXAMPLES / "calendly-invitee-created.json"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "1. jane@example.com  demo_booked  2026-12-01T09:00:05Z  (creates a lead)"
    assert 'utm_source="linkedin"' in result.output
    assert 'first_name="Jane"' in result.output
    assert lines[-1] == "1 event(s), nothing written"


def test_skipped_event_names_are_counted(run) -> None:
    result = run("--preset", "sendgrid", str(EXAMPLES / "sendgrid-events.json"), "--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r.get("event_type") for r in rows[:2]] == ["email_opened", "email_clicked"]
    assert rows[0]["creates_lead"] is False
    assert rows[-1] == {"skipped": {"processed": 1}}


def test_an_endpoint_of_the_sources_file(run, tmp_path) -> None:
    sources = """
webhooks:
  forms:
    verify: {kind: token, header: X-Api-Token}
    secret: env:NOT_NEEDED_TO_TEST
    mapping:
      items: entries
      email: who.email
      event_type: form_submitted
      occurred_at: {path: at, format: "%d.%m.%Y %H:%M"}
      properties: {form: form}
"""
    sample = tmp_path / "sample.json"
    sample.write_text(
        json.dumps(
            {"entries": [{"who": {"email": "a@x.io"}, "at": "02.12.2026 10:30", "form": "Demo"}]}
        )
    )
    result = run("--endpoint", "forms", str(sample), "--json", sources=sources)
    assert result.exit_code == 0, result.output
    row = json.loads(result.output.splitlines()[0])
    assert (row["person"], row["occurred_at"], row["properties"]) == (
        "a@x.io",
        "2026-12-02T10:30:00Z",
        {"form": "Demo"},
    )
    missing = run("--endpoint", "zoom", str(sample), sources=sources)
    assert missing.exit_code == 2 and "no webhook endpoint 'zoom'" in missing.output


def test_a_malformed_sample_names_the_path(run, tmp_path) -> None:
    sample = tmp_path / "bad.json"
    sample.write_text(json.dumps({"event": "invitee.created", "payload": {"uri": "u"}}))
    result = run("--preset", "calendly", str(sample))
    assert result.exit_code == 2
    assert "payload.email is absent" in result.output and "(at payload.email)" in result.output


def test_preset_or_endpoint_is_required(run) -> None:
    result = run(str(EXAMPLES / "sendgrid-events.json"))
    assert result.exit_code == 2 and "either --preset NAME or --endpoint NAME" in result.output
    unknown = run("--preset", "zoom", str(EXAMPLES / "sendgrid-events.json"))
    assert unknown.exit_code == 2 and "no preset 'zoom'" in unknown.output
