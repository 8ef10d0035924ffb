"""`import`: files validated row by row like API bodies, errors naming the line, all or
nothing per file unless skip_invalid; a column mapping; leads rescored once per file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from leadscore.engine.readers import InputError
from leadscore.service import queries, scoring_models
from leadscore.service.imports import ImportFailed, import_file, parse_mapping
from leadscore.store.tables import events, leads, outcomes, score_history

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "b2b-saas.yaml"


def count(ctx, table) -> int:
    with ctx.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(table))


@pytest.fixture
def model(ctx):
    ctx.clock = lambda: 1_767_225_600_000_000  # 2026-01-01
    version = scoring_models.upload(ctx, EXAMPLE.read_text(), "test")["version"]
    scoring_models.activate(ctx, version, "test")
    return ctx


def test_leads_with_a_column_mapping(model, tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "Lead ID,E-mail,owner,external_ids.hubspot,industry,employees\n"
        "A,a@x.io,ann,11,software,1200\n"
        "B,,,,retail,\n"
    )
    mapping = parse_mapping(["id=Lead ID", "email=E-mail"])
    report = import_file(model, "leads", path, mapping)
    assert (report.rows, report.written, report.skipped) == (2, 2, [])
    lead = queries.get_lead(model, "A")
    assert lead["email"] == "a@x.io" and lead["owner"] == "ann"
    assert lead["external_ids"] == {"hubspot": "11"}
    assert lead["attributes"] == {"industry": "software", "employees": "1200"}
    assert lead["fit"] == 55.0  # industry 25 + size 20 (CSV "1200" compares as a number) + email 10
    with pytest.raises(ValueError, match="FIELD=COLUMN"):
        parse_mapping(["email"])


def test_a_bad_row_fails_the_file_with_its_line_unless_skipped(model, tmp_path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "lead_id,type,occurred_at,url\n"
        "L1,page_viewed,2025-12-30,/pricing\n"
        "L1,page_viewed,last week,/pricing\n"
        "L2,,2025-12-30,\n"
        "L404,email_opened,2025-12-30,\n"
    )
    import_file(model, "leads", _csv(tmp_path, "id\nL1\nL2\n"))
    history = count(model, score_history)
    with pytest.raises(ImportFailed) as failed:
        import_file(model, "events", path)
    where = [(str(e.file), e.where) for e in failed.value.errors]
    assert where == [(str(path), "line 3"), (str(path), "line 4"), (str(path), "line 5")]
    assert "occurred_at" in failed.value.errors[0].reason
    assert "unknown lead 'L404'" in failed.value.errors[2].reason
    assert count(model, events) == 0 and count(model, score_history) == history

    report = import_file(model, "events", path, skip_invalid=True)
    assert (report.written, len(report.skipped)) == (1, 3)
    assert queries.get_lead(model, "L1")["engagement"] == 20.0


def test_events_rescore_each_lead_once_and_outcomes_set_stages(model, tmp_path) -> None:
    import_file(model, "leads", _csv(tmp_path, "id,email\nL1,a@x.io\n"))
    rows = "".join(
        f'{{"lead_id": "L1", "type": "email_opened", "occurred_at": "2025-12-{d:02d}"}}\n'
        for d in range(1, 21)
    )
    rows += '{"email": "new@x.io", "type": "demo_booked", "occurred_at": "2025-12-20", "properties": {"k": 1}}\n'
    path = tmp_path / "events.jsonl"
    path.write_text(rows)
    report = import_file(model, "events", path)
    assert report.written == 21
    assert len(queries.lead_history(model, "L1")["data"]) == 2  # created, then one rescore
    outcomes_file = _csv(
        tmp_path, "email,outcome,occurred_at,value\na@x.io,converted,2025-12-31,500\n"
    )
    import_file(model, "outcomes", outcomes_file)
    import_file(model, "outcomes", outcomes_file)  # the same outcome twice is stored once
    assert count(model, outcomes) == 1
    assert queries.get_lead(model, "L1")["stage"] == "customer"
    with pytest.raises(ImportFailed):
        import_file(model, "outcomes", _csv(tmp_path, "email,outcome\nnobody@x.io,lost\n"))


def test_unreadable_files(model, tmp_path) -> None:
    with pytest.raises(InputError, match="unknown file type"):
        import_file(model, "leads", tmp_path / "leads.xlsx")
    with pytest.raises(InputError, match="no such file"):
        import_file(model, "leads", tmp_path / "missing.csv")
    assert count(model, leads) == 0


def _csv(folder: Path, text: str, name: str = "file.csv") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_import_files_obey_the_apis_rules(model, tmp_path) -> None:
    """Lead ids with '/', NUL characters, oversized values, event ids of another lead's
    events, repeated outcomes: as over the API (issue 10), on both databases."""
    leads_file = _csv(
        tmp_path,
        "id,industry,notes\n"
        "A,software,ok\n"
        "a/b,software,\n"
        "C,soft\x00ware,\n"
        f"D,software,{'x' * 65_537}\n",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(model, "leads", leads_file)
    reasons = [(e.where, str(e)) for e in failed.value.errors]
    assert [where for where, _ in reasons] == ["line 3", "line 4", "line 5"]
    assert "cannot contain '/'" in reasons[0][1]
    assert "attributes.industry" in reasons[1][1] and "NUL" in reasons[1][1]
    assert "attributes.notes" in reasons[2][1] and "LEADSCORE_MAX_VALUE_LENGTH" in reasons[2][1]
    assert count(model, leads) == 0
    import_file(model, "leads", _csv(tmp_path, "id\nA\nB\n"))
    import_file(model, "events", _csv(tmp_path, "id,lead_id,type,occurred_at\ne1,A,x,2025-12-30\n"))
    clash = _csv(tmp_path, "id,lead_id,type,occurred_at\ne2,B,x,2025-12-30\ne1,B,x,2025-12-30\n")
    with pytest.raises(InputError, match=r"line 3: .*'e1'.*'A'.*'B'"):
        import_file(model, "events", clash)
    assert count(model, events) == 1
    again = _csv(tmp_path, "lead_id,outcome,occurred_at\nA,lost,2025-12-31\nA,lost,2025-12-31\n")
    assert import_file(model, "outcomes", again).written == 1
    assert import_file(model, "outcomes", again).written == 0
    assert count(model, outcomes) == 1
