"""File reading details of SPEC §3 that the CLI tests do not reach directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadscore.engine.readers import InputError, read_events, read_leads


def test_csv_cells_stay_text_and_empty_cells_are_null(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        'id,email,employees,note\nA,,0250,""\nB, B@X.IO ,1e3,"multi\nline"\nC,c@x.io,,x\n'
    )
    leads = read_leads(path)
    assert [lead.id for lead in leads] == ["A", "B", "C"]
    assert leads[0].email is None and leads[0].attributes == {"employees": "0250", "note": None}
    assert leads[1].email == "b@x.io" and leads[1].attributes["note"] == "multi\nline"


def test_csv_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text('id,note\nA,"two\nlines"\n,x\n')
    with pytest.raises(InputError, match=r"leads.csv: line 4: id is empty"):
        read_leads(path)


def test_event_types_and_ids_are_exact(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"id": "e1", "lead_id": "A", "type": "email_opened", "occurred_at": "2026-01-01"}\n'
        '{"id": "e1 ", "lead_id": "A", "type": " email_opened", "occurred_at": "2026-01-01"}\n'
        '{"id": "e1", "lead_id": "A", "type": "page_viewed", "occurred_at": "2026-01-02"}\n'
        '{"lead_id": "A ", "type": "x", "occurred_at": "2026-01-02", "properties": {"url": "/"}}\n'
        '{"lead_id": 7, "type": "x", "occurred_at": "2026-01-02T10:00:00+02:00", "utm": "a"}\n'
    )
    events = read_events(path, {"A", "7"})
    assert [e.type for e in events["A"]] == ["email_opened", " email_opened"]
    (seven,) = events["7"]
    assert seven.properties == {"utm": "a"}
    assert seven.occurred_at == 1_767_340_800_000_000  # 2026-01-02T08:00:00Z


def test_skipped_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("lead_id,type,occurred_at\nA,x,2026-01-01\nA,x,01/02/2026\nA,,2026-01-01\n")
    bad: list[InputError] = []
    events = read_events(path, {"A"}, bad.append)
    assert len(events["A"]) == 1
    assert [e.where for e in bad] == ["line 3", "line 4"]
