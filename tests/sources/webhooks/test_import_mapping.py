"""`leadscore import --mapping FILE` (§8): recurring exports from GetResponse and SALESmanago
(examples/imports/) through a mapping file, all or nothing, a bad row named with its file,
line and column; on SQLite and PostgreSQL (the running server's context), and the command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.sources.webhooks.conftest import counts
from typer.testing import CliRunner

from leadscore.cli import app
from leadscore.core.import_mapping import ImportMappingError, load_import_mapping
from leadscore.engine.readers import InputError
from leadscore.service.imports import ImportFailed, import_file

IMPORTS = Path(__file__).resolve().parents[3] / "examples" / "imports"


def mapping(name: str):
    return load_import_mapping((IMPORTS / f"{name}.yaml").read_text("utf-8"), name)


def test_getresponse_contacts_become_leads(api) -> None:
    report = import_file(
        api.ctx,
        "leads",
        IMPORTS / "getresponse-contacts.csv",
        file_mapping=mapping("getresponse-contacts"),
    )
    assert (report.rows, report.written) == (3, 3)
    found = api.get("/leads", email="anna.kowalska@example.com")["data"][0]
    assert found["attributes"] == {
        "name": "Anna Kowalska",
        "company": "Nordwind Software",
        "job_title": "Head of Marketing",
        "getresponse_list": "newsletter_pl",
        "signed_up": "2026-11-02 08:15:00",
        "lead_source": "getresponse",
    }  # no ip (skip), no origin (others: skip)


def test_getresponse_activity_becomes_events_and_reimports_are_duplicates(api) -> None:
    import_file(
        api.ctx,
        "leads",
        IMPORTS / "getresponse-contacts.csv",
        file_mapping=mapping("getresponse-contacts"),
    )
    events = mapping("getresponse-activity")
    first = import_file(
        api.ctx, "events", IMPORTS / "getresponse-activity.csv", file_mapping=events
    )
    assert first.written == 3
    lead = api.get("/leads", email="anna.kowalska@example.com")["data"][0]
    stored = api.get(f"/leads/{lead['id']}/events")["data"]
    click = next(e for e in stored if e["type"] == "email_clicked")
    assert click["occurred_at"] == "2026-11-20T09:02:10Z"
    assert click["source"] == "getresponse"
    assert click["properties"] == {
        "message": "November product news",
        "url": "https://example.com/pricing",
    }
    before = counts(api)
    again = import_file(
        api.ctx, "events", IMPORTS / "getresponse-activity.csv", file_mapping=events
    )
    assert again.written == 0 and counts(api) == before


def test_salesmanago_semicolon_export_with_external_ids(api) -> None:
    report = import_file(
        api.ctx,
        "leads",
        IMPORTS / "salesmanago-contacts.csv",
        file_mapping=mapping("salesmanago-contacts"),
    )
    assert report.written == 2
    found = api.get("/leads", email="ewa.zielinska@example.pl")["data"][0]
    assert found["external_ids"] == {"salesmanago": "8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
    assert found["attributes"]["city"] == "Gdańsk" and "Phone" not in found["attributes"]


def test_a_bad_row_names_file_line_and_column_and_nothing_is_written(api, tmp_path) -> None:
    bad = tmp_path / "activity.csv"
    bad.write_text(
        "email,activity,date,message,link\n"
        "anna.kowalska@example.com,open,2026-11-20 09:01:44,News,\n"
        "anna.kowalska@example.com,open,20.11.2026,News,\n"
        "tom.baker@example.org,bounce,2026-11-21 18:30:00,News,\n"
    )
    with pytest.raises(ImportFailed) as caught:
        import_file(api.ctx, "events", bad, file_mapping=mapping("getresponse-activity"))
    errors = [str(e) for e in caught.value.errors]
    assert errors[0] == (
        f"{bad}: line 3: date: '20.11.2026' does not match the format '%Y-%m-%d %H:%M:%S'"
    )
    assert errors[1].startswith(f"{bad}: line 4: activity: 'bounce' is not a mapped type")
    assert counts(api) == (0, 0)


def test_a_mapping_for_the_other_kind_or_a_missing_column_is_refused(api, tmp_path) -> None:
    with pytest.raises(InputError, match="the mapping file is for events, not leads"):
        import_file(
            api.ctx,
            "leads",
            IMPORTS / "getresponse-activity.csv",
            file_mapping=mapping("getresponse-activity"),
        )
    other = tmp_path / "other.csv"
    other.write_text("mail,name\na@x.io,A\n")
    with pytest.raises(ImportFailed) as caught:
        import_file(api.ctx, "leads", other, file_mapping=mapping("getresponse-contacts"))
    assert str(caught.value.errors[0]) == f"{other}: line 2: email: no such column in the file"
    assert counts(api) == (0, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: events\nemail: e\n", "needs type"),
        ("kind: leads\nemail: e\ntype: email_opened\n", "for events mappings"),
        (
            "kind: events\nemail: e\ntype: t\noccurred_at: {column: d, format: weekly}\n",
            "occurred_at.format",
        ),
        ("kind: leads\nattributes: {a: b}\n", "email, id or external_id"),
        ("kind: leads\nemail: e\ncolums: {}\n", "colums"),
    ],
)
def test_a_bad_mapping_file_is_named(text: str, message: str) -> None:
    with pytest.raises(ImportMappingError, match=message):
        load_import_mapping(text, "m.yaml")


def test_the_command_imports_with_a_mapping_and_reports_bad_rows(tmp_path) -> None:
    for name in (
        "getresponse-contacts.csv",
        "getresponse-contacts.yaml",
        "getresponse-activity.yaml",
    ):
        shutil.copy(IMPORTS / name, tmp_path / name)
    env = {"LEADSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "200"}
    runner = CliRunner()
    done = runner.invoke(
        app,
        [
            "import",
            "leads",
            str(tmp_path / "getresponse-contacts.csv"),
            "--mapping",
            str(tmp_path / "getresponse-contacts.yaml"),
        ],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert "imported 3 leads from 3 rows" in done.output
    bad = tmp_path / "activity.csv"
    bad.write_text("email,activity,date,message,link\nx@y.io,open,yesterday,N,\n")
    failed = runner.invoke(
        app,
        ["import", "events", str(bad), "--mapping", str(tmp_path / "getresponse-activity.yaml")],
        env=env,
    )
    assert failed.exit_code == 2
    assert f"invalid: {bad}: line 2: date: 'yesterday' does not match" in failed.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: leads\n")
    refused = runner.invoke(app, ["import", "leads", str(bad), "--mapping", str(broken)], env=env)
    assert refused.exit_code == 2 and "email, id or external_id" in refused.output
